/* The I/O threads' batched signals (devices/vq_workers.c), with requests the test holds in
 * serve() and lets go one at a time: a completion while another request is in hand is left
 * to that one's signal, unless that one is slow; no more than the pool's size go unsignalled;
 * and however the completions interleave, every one is signalled in the end (none is left in
 * the ring with the driver never told). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../devices/vq_workers.h"

#define REQS 399                    /* 57 bursts of 7: a multiple of no pool's size */

static struct rig {
    struct vq_workers w;
    pthread_mutex_t lock;
    pthread_cond_t moved;
    unsigned queued, taken, done;   /* requests made available, taken, made used */
    unsigned serving;               /* requests in serve(): counted in by the pool */
    unsigned signals;
    unsigned signalled_done;        /* `done` when the last signal came */
    bool held[REQS];                /* serve() of request i waits while held[i] */
    bool slow[REQS];                /* request i is not quick */
    bool jitter;                    /* serve() sleeps a little, at random */
} r;

static int take(void *opaque, struct virtq_chain *c)
{
    (void)opaque;
    pthread_mutex_lock(&r.lock);
    int got = r.taken < r.queued;
    if (got) {
        c->head = (uint16_t)r.taken++;
        pthread_cond_broadcast(&r.moved);
    }
    pthread_mutex_unlock(&r.lock);
    return got;
}

static void serve(void *opaque, struct virtq_chain *c)
{
    (void)opaque;
    pthread_mutex_lock(&r.lock);
    r.serving++;
    pthread_cond_broadcast(&r.moved);
    while (r.held[c->head])
        pthread_cond_wait(&r.moved, &r.lock);
    unsigned jitter = r.jitter ? (unsigned)rand() % 200 : 0;
    pthread_mutex_unlock(&r.lock);
    if (jitter)
        usleep(jitter);
    pthread_mutex_lock(&r.lock);
    r.done++;                       /* the chain is made used (quietly) */
    pthread_cond_broadcast(&r.moved);
    pthread_mutex_unlock(&r.lock);
}

static bool quick(void *opaque, const struct virtq_chain *c)
{
    (void)opaque;
    pthread_mutex_lock(&r.lock);
    bool q = !r.slow[c->head];
    pthread_mutex_unlock(&r.lock);
    return q;
}

static void signal_driver(void *opaque)
{
    (void)opaque;
    pthread_mutex_lock(&r.lock);
    r.signals++;
    r.signalled_done = r.done;
    pthread_cond_broadcast(&r.moved);
    pthread_mutex_unlock(&r.lock);
}

static void start(unsigned workers, unsigned queued, unsigned held, unsigned slow)
{
    memset(&r, 0, sizeof(r));
    for (unsigned i = 0; i < slow; i++)
        r.slow[i] = true;
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.moved, NULL);
    r.queued = queued;
    for (unsigned i = 0; i < held; i++)
        r.held[i] = true;
    struct mvm_err e = {0};
    assert_int_equal(vq_workers_init(&r.w, workers, "test", take, serve, NULL, NULL, &e), 0);
    vq_workers_batch(&r.w, signal_driver, quick);
    assert_int_equal(vq_workers_start(&r.w, &e), 0);
    vq_workers_notify(&r.w);
}

static int teardown(void **state)
{
    (void)state;
    pthread_mutex_lock(&r.lock);         /* a failed test may have left requests held */
    memset(r.held, 0, sizeof(r.held));
    pthread_cond_broadcast(&r.moved);
    pthread_mutex_unlock(&r.lock);
    vq_workers_destroy(&r.w);
    pthread_cond_destroy(&r.moved);
    pthread_mutex_destroy(&r.lock);
    return 0;
}

/* Waits (up to 10 s) until *what reaches want. */
static void wait_for(const unsigned *what, unsigned want, const char *name)
{
    struct timespec end;
    clock_gettime(CLOCK_REALTIME, &end);
    end.tv_sec += 10;
    pthread_mutex_lock(&r.lock);
    while (*what < want)
        if (pthread_cond_timedwait(&r.moved, &r.lock, &end) != 0)
            break;
    unsigned got = *what;
    pthread_mutex_unlock(&r.lock);
    if (got < want)
        fail_msg("%s: %u, waited for %u", name, got, want);
}

static void let_go(unsigned i)
{
    pthread_mutex_lock(&r.lock);
    r.held[i] = false;
    pthread_cond_broadcast(&r.moved);
    pthread_mutex_unlock(&r.lock);
}

/* Once a worker has counted its request out, the pool's decision is made: signalled, or
 * counted as unsignalled. */
static void wait_decided(unsigned unsignalled, unsigned signals)
{
    for (int i = 0; i < 10000; i++) {
        pthread_mutex_lock(&r.lock);
        unsigned s = r.signals;
        pthread_mutex_unlock(&r.lock);
        if (s > signals || __atomic_load_n(&r.w.unsignalled, __ATOMIC_SEQ_CST) >= unsignalled)
            return;
        usleep(1000);
    }
    fail_msg("no decision after a completion");
}

static unsigned signals(void)
{
    pthread_mutex_lock(&r.lock);
    unsigned s = r.signals;
    pthread_mutex_unlock(&r.lock);
    return s;
}

/* Two in hand: the first to finish leaves the signal to the second, which signals both. */
static void test_second_signals_both(void **state)
{
    (void)state;
    start(2, 2, 2, 0);
    wait_for(&r.serving, 2, "serving");
    let_go(1);
    wait_decided(1, 0);
    assert_int_equal(signals(), 0);
    let_go(0);
    wait_for(&r.signals, 1, "signals");
    assert_int_equal(r.signalled_done, 2);
    assert_int_equal(r.signals, 1);
}

/* A slow request (a flush) in hand holds no one's signal: the quick one done beside it is
 * signalled at once, and the slow one's own completion is signalled when it comes. */
static void test_slow_holds_none(void **state)
{
    (void)state;
    start(2, 2, 2, 1);                       /* request 0 is slow */
    wait_for(&r.serving, 2, "serving");
    let_go(1);
    wait_for(&r.signals, 1, "signals");
    assert_int_equal(r.signalled_done, 1);
    let_go(0);
    wait_for(&r.signals, 2, "signals");
    assert_int_equal(r.signalled_done, 2);
}

/* A stream that never leaves every worker idle is still signalled: here two workers, the
 * first done takes a third request, and the second's completion finds one unsignalled
 * already, which with its own is the pool's size. */
static void test_stream_is_signalled(void **state)
{
    (void)state;
    start(2, 3, 3, 0);
    wait_for(&r.serving, 2, "serving");
    let_go(0);
    wait_for(&r.serving, 3, "serving");      /* request 0 is done; 2 is in hand with 1 */
    assert_int_equal(signals(), 0);
    let_go(1);
    wait_for(&r.signals, 1, "signals");
    assert_int_equal(r.signalled_done, 2);   /* while request 2 is still in hand */
    let_go(2);
    wait_for(&r.signals, 2, "signals");
    assert_int_equal(r.signalled_done, 3);
}

/* Many requests, queued in bursts, each done after a random short time by four workers:
 * the last signal covers every completion, and batching saved some. */
static void test_none_left_unsignalled(void **state)
{
    (void)state;
    start(VQ_WORKERS_MAX, 0, 0, 0);
    r.jitter = true;
    for (unsigned burst = 0; burst < REQS / 7; burst++) {
        pthread_mutex_lock(&r.lock);
        r.queued += 7;
        pthread_mutex_unlock(&r.lock);
        vq_workers_notify(&r.w);
        usleep((unsigned)rand() % 300);
    }
    wait_for(&r.done, REQS, "done");
    wait_for(&r.signalled_done, REQS, "completions signalled");
    assert_true(r.signals < REQS);
}

int main(void)
{
    srand(1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_second_signals_both, teardown),
        cmocka_unit_test_teardown(test_slow_holds_none, teardown),
        cmocka_unit_test_teardown(test_stream_is_signalled, teardown),
        cmocka_unit_test_teardown(test_none_left_unsignalled, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
