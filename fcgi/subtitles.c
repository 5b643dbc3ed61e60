/* A subtitle track for the current video (sql/subtitles.lua checks who may). */
#include "api.h"

void subtitles_set(struct api_ctx *c)
{
    const struct api_value *url = api_value(c, "url"), *label = api_value(c, "label"),
                           *lang = api_value(c, "lang");
    const char *args[] = {"set", url->text, label->text, lang->text};
    const size_t lens[] = {3, url->len, label->len, lang->len};

    api_run_and_reply(c, SCRIPT_SUBTITLES, 4, args, lens);
}

void subtitles_clear(struct api_ctx *c)
{
    const char *args[] = {"clear"};

    api_run_and_reply(c, SCRIPT_SUBTITLES, 1, args, NULL);
}
