/* model_share: objects made once per model and shared by all its contexts
 * (model.h, "Shared per-model objects"). The CPU backend keeps its repacked
 * and huge-page weight copies here: before, every context made its own, so
 * two contexts of one model (best-of-N across contexts, proxy tuning's
 * experts) held the copies twice.
 *
 * The list and its counts are the model's only mutable state; they sit
 * behind the model's mutex, so the functions take a const model (every
 * other reader of a model only reads). make runs under the lock: two
 * contexts created at once on different threads make one object, and the
 * second waits for it instead of making its own. */
#include "model_impl.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct model_share {
    char key[64];
    void *obj;
    model_share_free_fn destroy;
    size_t bytes;
    int refs;
    struct model_share *next;
};

/* The model's lock and list: mutable through a const model (see above). */
static model *mut(const model *m) { return (model *)m; }

void *model_share_get(const model *cm, const char *key, model_share_make_fn make, model_share_free_fn destroy,
                      void *arg) {
    model *m = mut(cm);
    if (strlen(key) >= sizeof ((struct model_share *)0)->key) return NULL;
    pthread_mutex_lock(&m->share_lock);
    struct model_share *s = m->shares;
    while (s && strcmp(s->key, key)) s = s->next;
    if (s) {
        s->refs++;
    } else if ((s = calloc(1, sizeof *s))) {
        size_t bytes = 0;
        void *obj = make(arg, &bytes);
        if (obj) {
            *s = (struct model_share){ .obj = obj, .destroy = destroy, .bytes = bytes, .refs = 1, .next = m->shares };
            snprintf(s->key, sizeof s->key, "%s", key);
            m->shares = s;
        } else {
            free(s);
            s = NULL;
        }
    }
    void *obj = s ? s->obj : NULL;
    pthread_mutex_unlock(&m->share_lock);
    return obj;
}

void model_share_put(const model *cm, void *obj) {
    if (!cm || !obj) return;
    model *m = mut(cm);
    struct model_share *dead = NULL;
    pthread_mutex_lock(&m->share_lock);
    for (struct model_share **p = &m->shares; *p; p = &(*p)->next)
        if ((*p)->obj == obj) {
            if (--(*p)->refs == 0) { dead = *p; *p = dead->next; }
            break;
        }
    pthread_mutex_unlock(&m->share_lock);
    if (dead) {               /* freed outside the lock: nobody else can reach it */
        dead->destroy(dead->obj);
        free(dead);
    }
}

void model_share_stats(const model *cm, int *objects, int *refs, size_t *bytes) {
    model *m = mut(cm);
    int no = 0, nr = 0;
    size_t nb = 0;
    pthread_mutex_lock(&m->share_lock);
    for (const struct model_share *s = m->shares; s; s = s->next) { no++; nr += s->refs; nb += s->bytes; }
    pthread_mutex_unlock(&m->share_lock);
    if (objects) *objects = no;
    if (refs) *refs = nr;
    if (bytes) *bytes = nb;
}

void model_share_init(model *m) {
    pthread_mutex_init(&m->share_lock, NULL);
    m->shares = NULL;
}

/* Frees whatever contexts left behind (they should all be destroyed before
 * model_close; this keeps a leak from becoming a crash). */
void model_share_fini(model *m) {
    for (struct model_share *s = m->shares, *n; s; s = n) {
        n = s->next;
        s->destroy(s->obj);
        free(s);
    }
    m->shares = NULL;
    pthread_mutex_destroy(&m->share_lock);
}
