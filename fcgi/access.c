/* Room access (issue 16): the settings a host changes, and the password check of a join. The
 * password is hashed and verified here, in the worker (password.c), never in Redis. */
#include <string.h>

#include "api.h"
#include "log.h"

void access_settings(struct api_ctx *c)
{
    static const char *const flags[] = {"locked", "guestsCanControl", "guestsCanChangeVideo",
                                        "waitForAll"};
    const struct api_value *pw = api_value(c, "password");
    char hash[PASSWORD_HASH_LEN] = "";
    const char *args[6];
    struct exec_result r;
    enum wnc_err e;

    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        const struct api_value *v = api_value(c, flags[i]);
        args[i] = !v->present ? "" : v->boolean ? "1" : "0";
    }
    args[4] = !pw->present ? "" : pw->is_null ? "-" : hash;
    args[5] = "";
    if (pw->present && !pw->is_null) {
        /* The slow hash only for a host within its limit. */
        const char *check[] = {"", "", "", "", "", "check"};
        if (api_run_or_reply(c, SCRIPT_SETTINGS, 6, check, NULL, &r) != 0)
            return;
        exec_result_free(&r);
        if ((e = password_hash(pw->text, pw->len, hash)) != E_OK) {
            http_reply_error(c->req, e, NULL, NULL);
            return;
        }
    }
    api_run_and_reply(c, SCRIPT_SETTINGS, 6, args, NULL);
}

int access_check_password(struct api_ctx *c, const struct api_value *password,
                          char hash[PASSWORD_HASH_LEN])
{
    const char *args[] = {c->req->limit_key};
    struct exec_result r;

    if (api_run_or_reply(c, SCRIPT_PASSWORD_GATE, 1, args, NULL, &r) != 0)
        return -1;
    if (r.status == 429) { /* the body: seconds until the window ends */
        http_add_header(c->req, "Retry-After", r.body);
        http_reply_error(c->req, E_TOO_MANY_ATTEMPTS, NULL, NULL);
        exec_result_free(&r);
        return -1;
    }
    if (r.body_len >= PASSWORD_HASH_LEN) {
        log_error("access: the room's password hash is %zu bytes", r.body_len);
        http_reply_error(c->req, E_INTERNAL, NULL, NULL);
        exec_result_free(&r);
        return -1;
    }
    memcpy(hash, r.body, r.body_len + 1);
    exec_result_free(&r);
    if (*hash != '\0' && !password_verify(hash, password->text, password->len)) {
        log_info("room: a wrong password");
        http_reply_error(c->req, E_WRONG_PASSWORD, "password", NULL);
        return -1;
    }
    return 0;
}
