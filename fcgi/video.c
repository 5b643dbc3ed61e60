/* Playback control, hosts only (the script checks): set the video, play, pause, seek, rate. */
#include <stdio.h>

#include "api.h"
#include "valid.h"

static const char *const video_kind_names[] = {
    [VIDEO_FILE] = "file", [VIDEO_HLS] = "hls", [VIDEO_YOUTUBE] = "youtube"};

void video_set(struct api_ctx *c)
{
    const char *url, *cause = NULL;
    size_t len;
    struct video_url v;
    enum wnc_err e;

    if ((e = jx_get_string(c->body, "url", &url, &len)) != E_OK ||
        (e = valid_video_url(url, len, &v, &cause)) != E_OK) {
        api_reply_field_error(c, e, "url", cause);
        return;
    }
    const char *args[] = {"set", url, video_kind_names[v.kind], v.youtube_id};
    api_run_and_reply(c, SCRIPT_VIDEO, 4, args, NULL);
}

/* play, pause, seek and rate: one number field, validated, then the script's op. */
static void video_control(struct api_ctx *c, const char *op, const char *field,
                          enum wnc_err (*check)(double, const char **))
{
    const char *cause = NULL;
    char value[64];
    double number;
    enum wnc_err e;

    if ((e = jx_get_number(c->body, field, &number)) != E_OK ||
        (e = check(number, &cause)) != E_OK) {
        api_reply_field_error(c, e, field, cause);
        return;
    }
    snprintf(value, sizeof(value), "%.6f", number);
    const char *args[] = {op, value};
    api_run_and_reply(c, SCRIPT_VIDEO, 2, args, NULL);
}

void video_play(struct api_ctx *c)
{
    video_control(c, "play", "position", valid_position);
}

void video_pause(struct api_ctx *c)
{
    video_control(c, "pause", "position", valid_position);
}

void video_seek(struct api_ctx *c)
{
    video_control(c, "seek", "position", valid_position);
}

void video_rate(struct api_ctx *c)
{
    video_control(c, "rate", "rate", valid_rate);
}
