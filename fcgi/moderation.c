/* Moderation (issue 16): mute and the ban list. Kick with a ban, demote and rename are in
 * rooms.c, deleting a chat message in chat.c; the rules are in the scripts. */
#include <stdio.h>

#include "api.h"

void moderation_mute(struct api_ctx *c)
{
    const struct api_value *minutes = api_value(c, "minutes");
    char text[STORE_NUMBER_LEN] = "";

    if (minutes->present)
        snprintf(text, sizeof(text), "%d", (int)minutes->number);
    const char *args[] = {c->user_id, api_value(c, "muted")->boolean ? "1" : "0", text};
    api_run_and_reply(c, SCRIPT_MUTE, 3, args, NULL);
}

void moderation_bans(struct api_ctx *c)
{
    api_run_and_reply(c, SCRIPT_BANS, 0, NULL, NULL);
}

void moderation_unban(struct api_ctx *c)
{
    const char *args[] = {c->item_id};
    api_run_and_reply(c, SCRIPT_UNBAN, 1, args, NULL);
}
