/* Chat and typing, and deleting a message. */
#include "api.h"

void chat_get(struct api_ctx *c)
{
    api_run_and_reply(c, SCRIPT_CHAT_GET, 0, NULL, NULL);
}

void chat_post(struct api_ctx *c)
{
    const struct api_value *text = api_value(c, "text");
    const char *args[] = {text->text};
    const size_t lens[] = {text->len};

    api_run_and_reply(c, SCRIPT_CHAT_POST, 1, args, lens);
}

void chat_typing(struct api_ctx *c)
{
    const char *args[] = {api_value(c, "typing")->boolean ? "1" : "0"};

    api_run_and_reply(c, SCRIPT_TYPING, 1, args, NULL);
}

void chat_delete(struct api_ctx *c)
{
    const char *args[] = {c->item_id};
    api_run_and_reply(c, SCRIPT_CHAT_DELETE, 1, args, NULL);
}
