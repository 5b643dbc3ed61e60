/* Chat and typing. */
#include "api.h"
#include "valid.h"

void chat_get(struct api_ctx *c)
{
    api_run_and_reply(c, SCRIPT_CHAT_GET, 0, NULL, NULL);
}

void chat_post(struct api_ctx *c)
{
    const char *s, *text, *cause = NULL;
    size_t len, text_len;
    enum wnc_err e;

    if ((e = jx_get_string(c->body, "text", &s, &len)) != E_OK ||
        (e = valid_chat_text(s, len, &text, &text_len, &cause)) != E_OK) {
        api_reply_field_error(c, e, "text", cause);
        return;
    }
    const char *args[] = {text};
    const size_t lens[] = {text_len};
    api_run_and_reply(c, SCRIPT_CHAT_POST, 1, args, lens);
}

void chat_typing(struct api_ctx *c)
{
    int typing;
    enum wnc_err e;

    if ((e = jx_get_bool(c->body, "typing", &typing)) != E_OK) {
        api_reply_field_error(c, e, "typing",
                              e == E_INVALID_FIELD ? "typing is true or false" : NULL);
        return;
    }
    const char *args[] = {typing ? "1" : "0"};
    api_run_and_reply(c, SCRIPT_TYPING, 1, args, NULL);
}
