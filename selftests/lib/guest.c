// SPDX-License-Identifier: GPL-2.0
/*
 * Guest side of the selftest library: ucalls and the interrupt router.
 * This code runs in the guest, where there is no libc: no TLS, no syscalls,
 * so it formats its own messages.
 */
#include <stdarg.h>

#include "guest.h"

guest_handler_t guest_handlers[256];

static void put_char(char *buf, unsigned int *pos, unsigned int size, char c)
{
	if (*pos + 1 < size)
		buf[(*pos)++] = c;
}

static void put_num(char *buf, unsigned int *pos, unsigned int size, uint64_t v,
		    unsigned int base, bool alt)
{
	char tmp[24];
	int n = 0;

	if (alt && base == 16) {
		put_char(buf, pos, size, '0');
		put_char(buf, pos, size, 'x');
	}
	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v && n < (int)sizeof(tmp));
	while (n)
		put_char(buf, pos, size, tmp[--n]);
}

/* %d %u %x %lx %lu %ld %s %#x %#lx %c: enough for assertion messages. */
static void guest_vsnprintf(char *buf, unsigned int size, const char *fmt, va_list ap)
{
	unsigned int pos = 0;

	for (; *fmt; fmt++) {
		bool alt = false, is_long = false;

		if (*fmt != '%') {
			put_char(buf, &pos, size, *fmt);
			continue;
		}
		fmt++;
		if (*fmt == '#') {
			alt = true;
			fmt++;
		}
		while (*fmt == 'l') {
			is_long = true;
			fmt++;
		}
		switch (*fmt) {
		case 'd': {
			int64_t v = is_long ? va_arg(ap, int64_t) : va_arg(ap, int);

			if (v < 0) {
				put_char(buf, &pos, size, '-');
				v = -v;
			}
			put_num(buf, &pos, size, v, 10, false);
			break;
		}
		case 'u':
			put_num(buf, &pos, size, is_long ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int),
				10, false);
			break;
		case 'x':
			put_num(buf, &pos, size, is_long ? va_arg(ap, uint64_t) : va_arg(ap, unsigned int),
				16, alt);
			break;
		case 's': {
			const char *s = va_arg(ap, const char *);

			while (s && *s)
				put_char(buf, &pos, size, *s++);
			break;
		}
		case 'c':
			put_char(buf, &pos, size, (char)va_arg(ap, int));
			break;
		default:
			put_char(buf, &pos, size, '?');
		}
	}
	buf[pos] = 0;
}

static void do_ucall(struct ucall *uc)
{
	__asm__ volatile("outb %%al, %%dx"
			 : : "a"(0), "d"(UCALL_PORT), "D"(uc) : "memory");
}

void ucall(uint64_t cmd, int nargs, ...)
{
	struct ucall uc = { .cmd = cmd };
	va_list ap;
	int i;

	va_start(ap, nargs);
	for (i = 0; i < nargs && i < 6; i++)
		uc.args[i] = va_arg(ap, uint64_t);
	va_end(ap);
	do_ucall(&uc);
}

void ucall_abort(const char *file, int line, const char *expr, const char *fmt, ...)
{
	struct ucall uc = { .cmd = UCALL_ABORT, .file = file, .line = line, .expr = expr };
	va_list ap;

	va_start(ap, fmt);
	guest_vsnprintf(uc.msg, sizeof(uc.msg), fmt, ap);
	va_end(ap);
	for (;;)
		do_ucall(&uc);
}

void guest_printf(const char *fmt, ...)
{
	struct ucall uc = { .cmd = UCALL_PRINT };
	va_list ap;

	va_start(ap, fmt);
	guest_vsnprintf(uc.msg, sizeof(uc.msg), fmt, ap);
	va_end(ap);
	do_ucall(&uc);
}

void guest_route_interrupt(struct ex_regs *regs)
{
	guest_handler_t h = guest_handlers[regs->vector & 0xff];

	if (h) {
		h(regs);
		return;
	}
	ucall_abort(__FILE__, __LINE__, "unexpected interrupt",
		    "vector %lu error %#lx at rip %#lx", regs->vector, regs->error_code,
		    regs->rip);
}
