/* cpio_*(): the archive read back by a small newc reader written from the format's
 * description (magic, hex fields, padding, trailer), and by the host's cpio when it has one. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../vmm/cpio.h"

struct entry {
    unsigned long f[13];    /* ino mode uid gid nlink mtime filesize devmaj devmin rmaj rmin
                             * namesize check */
    const char *name;
    const unsigned char *data;
};
enum { INO, MODE, UID, GID, NLINK, MTIME, FILESIZE, DEVMAJ, DEVMIN, RMAJ, RMIN, NAMESIZE };

static unsigned long hex8(const unsigned char *p)
{
    unsigned long v = 0;
    for (int i = 0; i < 8; i++) {
        int c = p[i];
        assert_true((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f'));
        v = v * 16 + (unsigned long)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
}

/* Parses the whole archive into at most max entries (the trailer excluded); checks every
 * structural rule on the way and that the archive ends right after the padded trailer. */
static size_t parse(const unsigned char *buf, size_t len, struct entry *out, size_t max)
{
    size_t off = 0, n = 0;
    for (;;) {
        assert_true(off % 4 == 0);
        assert_true(off + 110 <= len);
        assert_memory_equal(buf + off, "070701", 6);
        struct entry en;
        for (int i = 0; i < 13; i++)
            en.f[i] = hex8(buf + off + 6 + 8 * i);
        size_t ns = en.f[NAMESIZE];
        assert_true(ns >= 2 && off + 110 + ns <= len);
        en.name = (const char *)buf + off + 110;
        assert_int_equal(en.name[ns - 1], '\0');
        assert_int_equal(strlen(en.name), ns - 1);
        size_t data = off + 110 + ns;
        for (; data % 4; data++)
            assert_int_equal(buf[data], 0);      /* name padding is zeros */
        size_t size = en.f[FILESIZE];
        assert_true(data + size <= len);
        en.data = buf + data;
        off = data + size;
        for (; off % 4; off++)
            assert_int_equal(buf[off], 0);       /* data padding is zeros */
        if (strcmp(en.name, "TRAILER!!!") == 0) {
            assert_int_equal(off, len);
            return n;
        }
        assert_true(n < max);
        out[n++] = en;
    }
}

static void test_entries(void **state)
{
    (void)state;
    struct cpio c;
    struct mvm_err e = {0};
    cpio_init(&c);
    assert_int_equal(cpio_add_dir(&c, "dev", 0755, &e), 0);
    assert_int_equal(cpio_add_node(&c, "dev/console", S_IFCHR | 0600, 5, 1, &e), 0);
    assert_int_equal(cpio_add_node(&c, "dev/vda", S_IFBLK | 0660, 254, 0x12345, &e), 0);
    assert_int_equal(cpio_add_file(&c, "init", 0755, "#!/bin/sh\n", 10, &e), 0);
    assert_int_equal(cpio_add_file(&c, "empty", 0644, NULL, 0, &e), 0);
    assert_int_equal(cpio_add_file(&c, "abc", 0600, "xyz", 3, &e), 0);
    assert_int_equal(cpio_add_symlink(&c, "sh", "bin/busybox", &e), 0);
    assert_int_equal(cpio_finish(&c, &e), 0);
    assert_string_equal(e.msg, "");

    struct entry en[8];
    assert_int_equal(parse(c.buf, c.len, en, 8), 7);
    const char *names[] = { "dev", "dev/console", "dev/vda", "init", "empty", "abc", "sh" };
    const unsigned long modes[] = { S_IFDIR | 0755, S_IFCHR | 0600, S_IFBLK | 0660,
                                    S_IFREG | 0755, S_IFREG | 0644, S_IFREG | 0600,
                                    S_IFLNK | 0777 };
    const unsigned long sizes[] = { 0, 0, 0, 10, 0, 3, 11 };
    for (int i = 0; i < 7; i++) {
        assert_string_equal(en[i].name, names[i]);
        assert_int_equal(en[i].f[MODE], modes[i]);
        assert_int_equal(en[i].f[FILESIZE], sizes[i]);
        assert_int_equal(en[i].f[UID], 0);
        assert_int_equal(en[i].f[GID], 0);
        assert_int_equal(en[i].f[MTIME], 0);
        assert_int_equal(en[i].f[NLINK], i == 0 ? 2 : 1);
        for (int j = 0; j < i; j++)
            assert_int_not_equal(en[i].f[INO], en[j].f[INO]);
    }
    assert_int_equal(en[1].f[RMAJ], 5);
    assert_int_equal(en[1].f[RMIN], 1);
    assert_int_equal(en[2].f[RMAJ], 254);
    assert_int_equal(en[2].f[RMIN], 0x12345);
    assert_int_equal(en[3].f[RMAJ], 0);
    assert_memory_equal(en[3].data, "#!/bin/sh\n", 10);
    assert_memory_equal(en[5].data, "xyz", 3);
    assert_memory_equal(en[6].data, "bin/busybox", 11);
    cpio_free(&c);
    assert_null(c.buf);
}

/* Bad requests are refused with the reason and leave the archive as it was. */
static void test_refusals(void **state)
{
    (void)state;
    struct cpio c;
    cpio_init(&c);
    struct mvm_err e = {0};
    assert_int_equal(cpio_add_dir(&c, "etc", 0755, &e), 0);
    size_t len = c.len;

    assert_int_equal(cpio_add_dir(&c, "/abs", 0755, &e), -1);
    assert_int_equal(e.status, MVM_E_VMM);
    assert_non_null(strstr(e.msg, "\"/abs\" is not a relative path"));
    memset(&e, 0, sizeof(e));
    assert_int_equal(cpio_add_file(&c, "", 0644, "x", 1, &e), -1);
    memset(&e, 0, sizeof(e));
    assert_int_equal(cpio_add_node(&c, "dev/x", S_IFREG | 0600, 1, 1, &e), -1);
    assert_non_null(strstr(e.msg, "neither a character nor a block device"));
    memset(&e, 0, sizeof(e));
    /* More than the 32-bit size field holds: refused before anything is read or copied. */
    assert_int_equal(cpio_add_file(&c, "huge", 0644, "", SIZE_MAX - 8, &e), -1);
    assert_int_equal(e.status, MVM_E_INPUT);
    assert_non_null(strstr(e.msg, "huge is"));
    memset(&e, 0, sizeof(e));
    char *longname = malloc(5000);
    assert_non_null(longname);
    memset(longname, 'a', 4999);
    longname[4999] = '\0';
    assert_int_equal(cpio_add_dir(&c, longname, 0755, &e), -1);
    assert_non_null(strstr(e.msg, "longer than the kernel takes"));
    free(longname);
    assert_int_equal(c.len, len);

    memset(&e, 0, sizeof(e));
    assert_int_equal(cpio_finish(&c, &e), 0);
    struct entry en[2];
    assert_int_equal(parse(c.buf, c.len, en, 2), 1);
    cpio_free(&c);
}

static char *make_file(const char *dir, const char *name, size_t size, unsigned seed)
{
    char *path;
    assert_true(asprintf(&path, "%s/%s", dir, name) > 0);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < size; i++)
        fputc((int)((i * 131 + seed) & 0xff), f);
    fclose(f);
    return path;
}

/* A host file is copied byte for byte; one bigger than the buffer grows it; one that is
 * missing or a directory is named in the error, and the archive is unchanged. */
static void test_host_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/minivmm-cpio-XXXXXX";
    assert_non_null(mkdtemp(dir));
    const size_t big = 3 * 1024 * 1024 + 3;
    char *small = make_file(dir, "small", 5, 1), *large = make_file(dir, "large", big, 7);
    struct cpio c;
    cpio_init(&c);
    struct mvm_err e = {0};
    assert_int_equal(cpio_add_file_from(&c, "s", 0644, small, &e), 0);
    size_t cap = c.cap;
    assert_int_equal(cpio_add_file_from(&c, "lib/l.ko", 0600, large, &e), 0);
    assert_true(c.cap > cap && c.cap >= c.len);
    size_t len = c.len;

    char *missing;
    assert_true(asprintf(&missing, "%s/nope.ko", dir) > 0);
    assert_int_equal(cpio_add_file_from(&c, "n", 0644, missing, &e), -1);
    assert_int_equal(e.status, MVM_E_INPUT);
    assert_non_null(strstr(e.msg, missing));
    assert_non_null(strstr(e.msg, "No such file or directory"));
    memset(&e, 0, sizeof(e));
    assert_int_equal(cpio_add_file_from(&c, "d", 0644, dir, &e), -1);
    assert_non_null(strstr(e.msg, "is not a regular file"));
    assert_non_null(strstr(e.msg, dir));
    assert_int_equal(c.len, len);

    memset(&e, 0, sizeof(e));
    assert_int_equal(cpio_finish(&c, &e), 0);
    struct entry en[3];
    assert_int_equal(parse(c.buf, c.len, en, 3), 2);
    assert_int_equal(en[0].f[FILESIZE], 5);
    assert_int_equal(en[1].f[FILESIZE], big);
    assert_int_equal(en[1].f[MODE], S_IFREG | 0600);
    for (size_t i = 0; i < big; i++)
        if (en[1].data[i] != ((i * 131 + 7) & 0xff))
            fail_msg("byte %zu of the large file differs", i);
    cpio_free(&c);
    unlink(small);
    unlink(large);
    rmdir(dir);
    free(small);
    free(large);
    free(missing);
}

static void write_archive(const char *path, const struct cpio *c)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(c->buf, 1, c->len, f), c->len);
    fclose(f);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *buf = calloc(1, 1 << 16);
    assert_non_null(buf);
    *len = fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    return buf;
}

/* GNU cpio, another implementation of the format, reads back what we wrote: the tree it
 * extracts has our names, modes, contents and link, and its listing our device numbers. */
static void test_host_cpio(void **state)
{
    (void)state;
    if (system("command -v cpio >/dev/null 2>&1") != 0) {
        printf("SKIPPED: the host has no cpio (apt-get install cpio): only our own reader "
               "checked the archive\n");
        skip();
    }
    char dir[] = "/tmp/minivmm-cpiox-XXXXXX", cmd[512], path[300];
    assert_non_null(mkdtemp(dir));
    struct cpio c;
    cpio_init(&c);
    struct mvm_err e = {0};
    assert_int_equal(cpio_add_dir(&c, "bin", 0750, &e), 0);
    assert_int_equal(cpio_add_file(&c, "bin/init", 0755, "hello, world\n", 13, &e), 0);
    assert_int_equal(cpio_add_file(&c, "bin/e", 0600, "", 0, &e), 0);
    assert_int_equal(cpio_add_symlink(&c, "init", "bin/init", &e), 0);
    assert_int_equal(cpio_finish(&c, &e), 0);
    snprintf(path, sizeof(path), "%s.cpio", dir);
    write_archive(path, &c);
    cpio_free(&c);
    snprintf(cmd, sizeof(cmd), "cd %s && cpio -idm --quiet < %s.cpio", dir, dir);
    assert_int_equal(system(cmd), 0);

    struct stat st;
    snprintf(path, sizeof(path), "%s/bin", dir);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_mode, S_IFDIR | 0750);
    snprintf(path, sizeof(path), "%s/bin/init", dir);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_mode, S_IFREG | 0755);
    assert_int_equal(st.st_mtime, 0);
    size_t len;
    char *text = slurp(path, &len);
    assert_int_equal(len, 13);
    assert_string_equal(text, "hello, world\n");
    free(text);
    snprintf(path, sizeof(path), "%s/bin/e", dir);
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_size, 0);
    char target[64] = "";
    snprintf(path, sizeof(path), "%s/init", dir);
    assert_int_equal(readlink(path, target, sizeof(target) - 1), 8);
    assert_string_equal(target, "bin/init");

    /* Device nodes are listed, not extracted: making them needs root. */
    cpio_init(&c);
    assert_int_equal(cpio_add_node(&c, "console", S_IFCHR | 0600, 5, 1, &e), 0);
    assert_int_equal(cpio_finish(&c, &e), 0);
    snprintf(path, sizeof(path), "%s.cpio", dir);
    write_archive(path, &c);
    cpio_free(&c);
    snprintf(cmd, sizeof(cmd), "cpio -itv --quiet < %s.cpio > %s.list", dir, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(path, sizeof(path), "%s.list", dir);
    text = slurp(path, &len);
    assert_non_null(strstr(text, "crw-------"));
    assert_non_null(strstr(text, "5,   1"));
    assert_non_null(strstr(text, "console"));
    free(text);
    snprintf(cmd, sizeof(cmd), "rm -rf %s %s.cpio %s.list", dir, dir, dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entries),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_host_files),
        cmocka_unit_test(test_host_cpio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
