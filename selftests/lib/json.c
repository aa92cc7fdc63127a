// SPDX-License-Identifier: GPL-2.0
/* A recursive-descent JSON reader (RFC 8259), for json.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

struct reader {
	const char *text, *p;
	char *error;
	size_t error_size;
	bool failed;
	int depth;
};

static void fail(struct reader *r, const char *what)
{
	if (!r->failed)
		snprintf(r->error, r->error_size, "%s at offset %zu", what, (size_t)(r->p - r->text));
	r->failed = true;
}

static void skip_space(struct reader *r)
{
	while (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r')
		r->p++;
}

static struct json *node(enum json_kind kind)
{
	struct json *j = calloc(1, sizeof(*j));

	if (j)
		j->kind = kind;
	return j;
}

static bool append(struct json *parent, struct json *child)
{
	struct json **items = realloc(parent->items, (parent->n + 1) * sizeof(*items));

	if (!items)
		return false;
	parent->items = items;
	parent->items[parent->n++] = child;
	return true;
}

/* A string's content, escapes decoded (\uXXXX above 0x7f kept as '?'). */
static char *parse_string(struct reader *r)
{
	size_t cap = 16, len = 0;
	char *s = malloc(cap);

	if (!s || *r->p != '"') {
		free(s);
		fail(r, "expected a string");
		return NULL;
	}
	r->p++;
	for (;;) {
		char c = *r->p++;

		if (c == '"')
			break;
		if (!c || (unsigned char)c < 0x20) {
			r->p--;
			fail(r, "unterminated string or control character in it");
			free(s);
			return NULL;
		}
		if (c == '\\') {
			c = *r->p++;
			switch (c) {
			case '"': case '\\': case '/': break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case 'n': c = '\n'; break;
			case 'r': c = '\r'; break;
			case 't': c = '\t'; break;
			case 'u': {
				unsigned int i, v = 0;

				for (i = 0; i < 4; i++) {
					if (!isxdigit((unsigned char)r->p[i])) {
						fail(r, "bad \\u escape");
						free(s);
						return NULL;
					}
					v = v * 16 + (isdigit((unsigned char)r->p[i]) ?
						      r->p[i] - '0' : (tolower(r->p[i]) - 'a' + 10));
				}
				r->p += 4;
				c = v < 0x80 ? (char)v : '?';
				break;
			}
			default:
				r->p--;
				fail(r, "bad escape");
				free(s);
				return NULL;
			}
		}
		if (len + 2 > cap) {
			char *t = realloc(s, cap *= 2);

			if (!t) {
				free(s);
				fail(r, "out of memory");
				return NULL;
			}
			s = t;
		}
		s[len++] = c;
	}
	s[len] = 0;
	return s;
}

static struct json *parse_value(struct reader *r);

static struct json *parse_container(struct reader *r, bool object)
{
	struct json *j = node(object ? JSON_OBJECT : JSON_ARRAY);
	char close = object ? '}' : ']';

	if (!j || ++r->depth > 64) {
		fail(r, "nested too deeply");
		free(j);
		return NULL;
	}
	r->p++;
	skip_space(r);
	if (*r->p == close) {
		r->p++;
		r->depth--;
		return j;
	}
	for (;;) {
		char *key = NULL;
		struct json *child;

		skip_space(r);
		if (object) {
			key = parse_string(r);
			if (!key)
				break;
			skip_space(r);
			if (*r->p != ':') {
				fail(r, "expected ':'");
				free(key);
				break;
			}
			r->p++;
		}
		child = parse_value(r);
		if (!child) {
			free(key);
			break;
		}
		child->key = key;
		if (!append(j, child)) {
			json_free(child);
			fail(r, "out of memory");
			break;
		}
		skip_space(r);
		if (*r->p == ',') {
			r->p++;
			continue;
		}
		if (*r->p == close) {
			r->p++;
			r->depth--;
			return j;
		}
		fail(r, object ? "expected ',' or '}'" : "expected ',' or ']'");
		break;
	}
	json_free(j);
	return NULL;
}

static struct json *parse_number(struct reader *r)
{
	const char *start = r->p;
	struct json *j;

	if (*r->p == '-')
		r->p++;
	if (*r->p == '0') {
		r->p++;
	} else if (isdigit((unsigned char)*r->p)) {
		while (isdigit((unsigned char)*r->p))
			r->p++;
	} else {
		fail(r, "expected a value");
		return NULL;
	}
	if (*r->p == '.') {
		r->p++;
		if (!isdigit((unsigned char)*r->p)) {
			fail(r, "expected digits after '.'");
			return NULL;
		}
		while (isdigit((unsigned char)*r->p))
			r->p++;
	}
	if (*r->p == 'e' || *r->p == 'E') {
		r->p++;
		if (*r->p == '+' || *r->p == '-')
			r->p++;
		if (!isdigit((unsigned char)*r->p)) {
			fail(r, "expected an exponent");
			return NULL;
		}
		while (isdigit((unsigned char)*r->p))
			r->p++;
	}
	j = node(JSON_NUMBER);
	if (j)
		j->text = strndup(start, r->p - start);
	return j;
}

static struct json *parse_value(struct reader *r)
{
	struct json *j;

	skip_space(r);
	switch (*r->p) {
	case '{':
		return parse_container(r, true);
	case '[':
		return parse_container(r, false);
	case '"':
		j = node(JSON_STRING);
		if (j && !(j->text = parse_string(r))) {
			free(j);
			return NULL;
		}
		return j;
	case 't':
	case 'f':
	case 'n': {
		static const char *const words[] = { "true", "false", "null" };
		unsigned int i;

		for (i = 0; i < 3; i++) {
			if (!strncmp(r->p, words[i], strlen(words[i]))) {
				r->p += strlen(words[i]);
				j = node(i == 2 ? JSON_NULL : JSON_BOOL);
				if (j)
					j->boolean = i == 0;
				return j;
			}
		}
		fail(r, "expected a value");
		return NULL;
	}
	default:
		return parse_number(r);
	}
}

struct json *json_parse(const char *text, char *error, size_t error_size)
{
	struct reader r = { .text = text, .p = text, .error = error, .error_size = error_size };
	struct json *j = parse_value(&r);

	if (j) {
		skip_space(&r);
		if (*r.p) {
			fail(&r, "text after the value");
			json_free(j);
			j = NULL;
		}
	}
	return j;
}

void json_free(struct json *j)
{
	size_t i;

	if (!j)
		return;
	for (i = 0; i < j->n; i++)
		json_free(j->items[i]);
	free(j->items);
	free(j->key);
	free(j->text);
	free(j);
}

const struct json *json_get(const struct json *object, const char *key)
{
	size_t i;

	if (!object || object->kind != JSON_OBJECT)
		return NULL;
	for (i = 0; i < object->n; i++)
		if (!strcmp(object->items[i]->key, key))
			return object->items[i];
	return NULL;
}

bool json_u64(const struct json *j, uint64_t *value)
{
	char *end;

	if (!j || j->kind != JSON_NUMBER || j->text[0] == '-')
		return false;
	errno = 0;
	*value = strtoull(j->text, &end, 10);
	return !errno && !*end;
}
