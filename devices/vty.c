#include "vty.h"

#include "../vmm/console.h"

void vty_init(struct vty *v, int out_fd)
{
    v->out_fd = out_fd;
    v->sink = NULL;
    v->input_pushed = NULL;
    pthread_mutex_init(&v->lock, NULL);
    v->in_head = v->in_len = 0;
    v->aborted = false;
}

void vty_abort(struct vty *v)
{
    __atomic_store_n(&v->aborted, true, __ATOMIC_SEQ_CST);
}

void vty_destroy(struct vty *v)
{
    pthread_mutex_destroy(&v->lock);
}

int vty_write(struct vty *v, const uint8_t *buf, size_t len)
{
    if (v->sink)
        return console_sink_write(v->sink, buf, len);
    if (v->out_fd < 0)
        return 0;
    /* Waits for room rather than drop console bytes, but never past the end of the run. */
    return console_write_all(v->out_fd, buf, len, &v->aborted);
}

size_t vty_read(struct vty *v, uint8_t *buf, size_t max)
{
    pthread_mutex_lock(&v->lock);
    size_t n = v->in_len < max ? v->in_len : max;
    for (size_t i = 0; i < n; i++)
        buf[i] = v->in[(v->in_head + i) % VTY_IN_SIZE];
    v->in_head = (v->in_head + n) % VTY_IN_SIZE;
    v->in_len -= n;
    pthread_mutex_unlock(&v->lock);
    return n;
}

size_t vty_push_input(struct vty *v, const uint8_t *buf, size_t len)
{
    pthread_mutex_lock(&v->lock);
    size_t room = VTY_IN_SIZE - v->in_len;
    size_t n = len < room ? len : room;
    for (size_t i = 0; i < n; i++)
        v->in[(v->in_head + v->in_len + i) % VTY_IN_SIZE] = buf[i];
    v->in_len += n;
    pthread_mutex_unlock(&v->lock);
    return n;
}

size_t vty_input_room(struct vty *v)
{
    pthread_mutex_lock(&v->lock);
    size_t room = VTY_IN_SIZE - v->in_len;
    pthread_mutex_unlock(&v->lock);
    return room;
}
