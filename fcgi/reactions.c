/* Reactions: an emoji from the fixed set, sent to everyone, not stored. */
#include "api.h"

/* sql/reaction.lua's window: 5 reactions per 2 s per member. */
#define REACTIONS_RETRY_AFTER_S 2

void reactions_post(struct api_ctx *c)
{
    const struct api_value *emoji = api_value(c, "emoji");
    const char *args[] = {emoji->text};
    const size_t lens[] = {emoji->len};

    c->retry_after_s = REACTIONS_RETRY_AFTER_S;
    api_run_and_reply(c, SCRIPT_REACTION, 1, args, lens);
}
