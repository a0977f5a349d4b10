/* How a run ends (vmm/run_end.c): the first end wins, with its status, message and pattern
 * together. Also built with ThreadSanitizer (make check-tsan), where ends race for real. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <string.h>

#include "../../vmm/run_end.h"

static void test_first_end_wins(void **state)
{
    (void)state;
    struct run_end r = {0};
    assert_true(run_end_record(&r, MVM_FAIL_PATTERN, "the guest printed: BAD", "BAD"));
    assert_false(run_end_record(&r, MVM_OK, "powered off", NULL));
    assert_false(run_end_record(&r, MVM_TIMEOUT, "timeout", NULL));
    assert_int_equal(r.status, MVM_FAIL_PATTERN);
    assert_string_equal(r.why, "the guest printed: BAD");
    assert_string_equal(r.pattern, "BAD");

    struct run_end p = {0};
    assert_true(run_end_record(&p, MVM_OK, NULL, NULL));   /* a power-off: no pattern */
    assert_false(run_end_record(&p, MVM_OK, "the console showed \"UP\"", "UP"));
    assert_string_equal(p.pattern, "");
    assert_string_equal(p.why, "");
}

/* A power-off on one vCPU racing a --fail-on match on another, as the VM does it (one lock):
 * whoever wins, status and pattern belong together. */
struct race {
    pthread_mutex_t lock;
    struct run_end end;
    pthread_barrier_t go;
};

static void *fail_pattern(void *arg)
{
    struct race *r = arg;
    pthread_barrier_wait(&r->go);
    pthread_mutex_lock(&r->lock);
    run_end_record(&r->end, MVM_FAIL_PATTERN, "the guest printed: BAD", "BAD");
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

static void *power_off(void *arg)
{
    struct race *r = arg;
    pthread_barrier_wait(&r->go);
    pthread_mutex_lock(&r->lock);
    run_end_record(&r->end, MVM_OK, "the guest powered off", NULL);
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

static void test_racing_ends(void **state)
{
    (void)state;
    unsigned wins[2] = {0, 0};
    for (int i = 0; i < 200; i++) {
        struct race r = {.end = {0}};
        pthread_mutex_init(&r.lock, NULL);
        pthread_barrier_init(&r.go, NULL, 2);
        pthread_t a, b;
        assert_int_equal(pthread_create(&a, NULL, fail_pattern, &r), 0);
        assert_int_equal(pthread_create(&b, NULL, power_off, &r), 0);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
        assert_true(r.end.ended);
        if (r.end.status == MVM_FAIL_PATTERN) {
            assert_string_equal(r.end.pattern, "BAD");
            wins[0]++;
        } else {
            assert_int_equal(r.end.status, MVM_OK);
            assert_string_equal(r.end.pattern, "");
            assert_string_equal(r.end.why, "the guest powered off");
            wins[1]++;
        }
        pthread_barrier_destroy(&r.go);
        pthread_mutex_destroy(&r.lock);
    }
    assert_int_equal(wins[0] + wins[1], 200);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_end_wins),
        cmocka_unit_test(test_racing_ends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
