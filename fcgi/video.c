/* Playback control, hosts only (the script checks): set the video, play, pause, seek, rate;
 * and every member's buffering reports (sql/buffering.lua: wait for everyone). */
#include <stdio.h>

#include "api.h"

const char *video_kind_name(enum video_kind kind)
{
    static const char *const names[] = {
        [VIDEO_FILE] = "file", [VIDEO_HLS] = "hls", [VIDEO_YOUTUBE] = "youtube"};

    return names[kind];
}

void video_set(struct api_ctx *c)
{
    const struct api_value *url = api_value(c, "url");
    const char *args[] = {"set", url->text, video_kind_name(url->video.kind),
                          url->video.youtube_id};

    api_run_and_reply(c, SCRIPT_VIDEO, 4, args, NULL);
}

/* play, pause, seek and rate: the script's op with the route's one number field. */
static void video_control(struct api_ctx *c, const char *op, const char *field)
{
    char value[STORE_NUMBER_LEN]; /* at most 1e7 with six decimals (valid.h) */

    snprintf(value, sizeof(value), "%.6f", api_value(c, field)->number);
    const char *args[] = {op, value};
    api_run_and_reply(c, SCRIPT_VIDEO, 2, args, NULL);
}

void video_play(struct api_ctx *c)
{
    video_control(c, "play", "position");
}

void video_pause(struct api_ctx *c)
{
    video_control(c, "pause", "position");
}

void video_seek(struct api_ctx *c)
{
    video_control(c, "seek", "position");
}

void video_rate(struct api_ctx *c)
{
    video_control(c, "rate", "rate");
}

void video_buffering(struct api_ctx *c)
{
    char position[STORE_NUMBER_LEN];

    snprintf(position, sizeof(position), "%.6f", api_value(c, "position")->number);
    const char *args[] = {api_value(c, "buffering")->boolean ? "1" : "0", position};
    api_run_and_reply(c, SCRIPT_BUFFERING, 2, args, NULL);
}
