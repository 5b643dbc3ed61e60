/* The queue of videos to play next (sql/queue.lua checks who may): add, remove, move, play the
 * first item now, and members' players reporting the end of the video (auto-advance). */
#include <stdio.h>

#include "api.h"

void queue_add(struct api_ctx *c)
{
    const struct api_value *url = api_value(c, "url");
    const char *args[] = {"add", url->text, video_kind_name(url->video.kind),
                          url->video.youtube_id};

    api_run_and_reply(c, SCRIPT_QUEUE, 4, args, NULL);
}

void queue_remove(struct api_ctx *c)
{
    const char *args[] = {"remove", c->item_id};

    api_run_and_reply(c, SCRIPT_QUEUE, 2, args, NULL);
}

void queue_move(struct api_ctx *c)
{
    char index[STORE_NUMBER_LEN];

    snprintf(index, sizeof(index), "%d", (int)api_value(c, "index")->number);
    const char *args[] = {"move", c->item_id, index};
    api_run_and_reply(c, SCRIPT_QUEUE, 3, args, NULL);
}

void queue_next(struct api_ctx *c)
{
    const char *args[] = {"next"};

    api_run_and_reply(c, SCRIPT_QUEUE, 1, args, NULL);
}

void queue_ended(struct api_ctx *c)
{
    const char *args[] = {"ended", api_value(c, "url")->text};

    api_run_and_reply(c, SCRIPT_QUEUE, 2, args, NULL);
}
