#include "civil.h"

#include <string.h>

/* Howard Hinnant's days-from-civil algorithm: years counted from March, so the leap day is
 * the last of its year, in 400-year eras of 146097 days. */
int64_t civil_to_days(uint32_t year, uint32_t month, uint32_t day)
{
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                   /* [0, 399] */
    int64_t mp = month > 2 ? month - 3 : month + 9;                /* March is 0 */
    int64_t doy = (153 * mp + 2) / 5 + day - 1;                    /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* [0, 146096] */
    return era * 146097 + doe - 719468;                            /* 719468: 0000-03-01 */
}

void civil_from_days(int64_t days, struct civil_time *t)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    t->day = (uint32_t)(doy - (153 * mp + 2) / 5 + 1);
    t->month = (uint32_t)(mp < 10 ? mp + 3 : mp - 9);
    t->year = (uint32_t)(yoe + era * 400 + (t->month <= 2));
}

void civil_from_secs(int64_t secs, struct civil_time *t)
{
    int64_t days = secs / 86400, rem = secs % 86400;
    if (rem < 0)
        rem += 86400, days--;
    civil_from_days(days, t);
    t->hour = (uint32_t)(rem / 3600);
    t->min = (uint32_t)(rem % 3600 / 60);
    t->sec = (uint32_t)(rem % 60);
}

int64_t civil_to_secs(const struct civil_time *t)
{
    return civil_to_days(t->year, t->month, t->day) * 86400 + t->hour * 3600 + t->min * 60 +
           t->sec;
}

bool civil_valid(const struct civil_time *t)
{
    static const uint8_t mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (t->year < 1 || t->year > 9999 || t->month < 1 || t->month > 12 || t->hour > 23 ||
        t->min > 59 || t->sec > 59 || t->day < 1)
        return false;
    bool leap = t->year % 4 == 0 && (t->year % 100 != 0 || t->year % 400 == 0);
    return t->day <= (uint32_t)mdays[t->month - 1] + (t->month == 2 && leap);
}

/* The number in s[at..at+n), all digits (checked by the caller's template). */
static uint32_t digits(const char *s, unsigned at, unsigned n)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v * 10 + (uint32_t)(s[at + i] - '0');
    return v;
}

int civil_parse(const char *s, int64_t *secs)
{
    /* Fixed widths ('9' is any digit, 'T' a T or a space), so "2006-6-17" or trailing words
     * are refused rather than guessed at. */
    static const char full[] = "9999-99-99T99:99:99";
    size_t len = strlen(s);
    if (len != 10 && len != 16 && len != 19)
        return -1;
    for (size_t i = 0; i < len; i++) {
        char want = full[i], c = s[i];
        if (want == '9' ? (c < '0' || c > '9') : want == 'T' ? (c != 'T' && c != ' ') : c != want)
            return -1;
    }
    struct civil_time t = {
        .year = digits(s, 0, 4), .month = digits(s, 5, 2), .day = digits(s, 8, 2),
        .hour = len > 10 ? digits(s, 11, 2) : 0, .min = len > 10 ? digits(s, 14, 2) : 0,
        .sec = len > 16 ? digits(s, 17, 2) : 0,
    };
    if (!civil_valid(&t))
        return -1;
    *secs = civil_to_secs(&t);
    return 0;
}
