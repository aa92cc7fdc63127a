/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A small JSON reader for tests that check a tool's --json output: it
 * parses the whole text into a tree (or says where it is not JSON) and
 * looks values up by key.  Numbers are kept as text and read as integers:
 * the selftests build without floating point.
 */
#ifndef SELFTESTS_JSON_H
#define SELFTESTS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum json_kind { JSON_NULL, JSON_BOOL, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT };

struct json {
	enum json_kind kind;
	char *key;		/* the member's name, in an object */
	char *text;		/* a string's value, a number's digits */
	bool boolean;
	struct json **items;	/* an array's elements, an object's members */
	size_t n;
};

/* The tree of text, or NULL with error (a message with the offset) filled in. */
struct json *json_parse(const char *text, char *error, size_t error_size);
void json_free(struct json *j);

/* An object's member, or NULL. */
const struct json *json_get(const struct json *object, const char *key);
/* A number as an unsigned integer; false if j is no such number. */
bool json_u64(const struct json *j, uint64_t *value);

#endif /* SELFTESTS_JSON_H */
