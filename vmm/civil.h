/* Calendar dates and seconds since 1970-01-01 UTC, for the guest's time-of-day clock (RTAS
 * get/set-time-of-day, --rtc-base). Proleptic Gregorian, no time zones: the pseries clock is
 * UTC, and a vCPU thread must not read zone files (gmtime_r may, on first use). */
#ifndef MINIVMM_CIVIL_H
#define MINIVMM_CIVIL_H

#include <stdbool.h>
#include <stdint.h>

struct civil_time {
    uint32_t year, month, day, hour, min, sec;   /* month and day from 1 */
};

/* Days since 1970-01-01 of a date (which must be valid: see civil_valid). */
int64_t civil_to_days(uint32_t year, uint32_t month, uint32_t day);
/* The date `days` days after 1970-01-01 (before it when negative). */
void civil_from_days(int64_t days, struct civil_time *t);
/* Seconds since the epoch to a date and time of day, and back. */
void civil_from_secs(int64_t secs, struct civil_time *t);
int64_t civil_to_secs(const struct civil_time *t);
/* Whether t names a real moment: month 1-12, the month's own days (leap years counted),
 * hours 0-23, minutes and seconds 0-59, year 1 to 9999. */
bool civil_valid(const struct civil_time *t);
/* "YYYY-MM-DD", "YYYY-MM-DDTHH:MM" or "YYYY-MM-DDTHH:MM:SS" (a space may replace the T),
 * UTC, to seconds since the epoch. Returns 0, or -1 for anything else. */
int civil_parse(const char *s, int64_t *secs);

#endif
