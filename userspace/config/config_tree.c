// SPDX-License-Identifier: GPL-2.0-only
/*
 * libyaml events → a small node tree that keeps line and column of every node. The event API is
 * used rather than the document API so aliases can be refused outright: a config has no use for
 * them, and refusing them shuts the door on exponential "billion laughs" walks.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config/config_internal.h"

struct tree_builder {
	yaml_parser_t parser;
	const char *file;
	struct cage_config_diag *diag;
};

static int syntax_error(struct tree_builder *b)
{
	const yaml_parser_t *p = &b->parser;
	yaml_mark_t mark = p->problem_mark;

	if (p->error == YAML_MEMORY_ERROR)
		return -ENOMEM;
	/* Reader errors (bad UTF-8) carry an offset, not a mark; the parser's own mark is close. */
	if (p->error == YAML_READER_ERROR)
		mark = p->mark;
	if (p->context)
		cfg_diag_set(b->diag, b->file, mark.line + 1, mark.column + 1, "",
			     "yaml syntax error: %s %s that starts at %zu:%zu",
			     p->problem ? p->problem : "unknown problem", p->context,
			     p->context_mark.line + 1, p->context_mark.column + 1);
	else
		cfg_diag_set(b->diag, b->file, mark.line + 1, mark.column + 1, "",
			     "yaml syntax error: %s", p->problem ? p->problem : "unknown problem");
	return -EINVAL;
}

static int next_event(struct tree_builder *b, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&b->parser, ev))
		return syntax_error(b);
	return 0;
}

static struct ynode *node_new(enum ynode_kind kind, const yaml_event_t *ev)
{
	struct ynode *node = calloc(1, sizeof(*node));

	if (!node)
		return NULL;
	node->kind = kind;
	node->line = ev->start_mark.line + 1;
	node->column = ev->start_mark.column + 1;
	return node;
}

static int node_append(struct ynode *parent, struct ynode *child)
{
	struct ynode **items = reallocarray(parent->items, parent->n_items + 1, sizeof(*items));

	if (!items)
		return -ENOMEM;
	parent->items = items;
	items[parent->n_items++] = child;
	return 0;
}

static int build_node(struct tree_builder *b, yaml_event_t *ev, unsigned depth, struct ynode **out);

static int build_scalar(const yaml_event_t *ev, struct ynode **out)
{
	const char *tag = (const char *)ev->data.scalar.tag;
	struct ynode *node = node_new(YNODE_SCALAR, ev);

	if (!node)
		return -ENOMEM;
	node->text = malloc(ev->data.scalar.length + 1);
	if (!node->text) {
		free(node);
		return -ENOMEM;
	}
	memcpy(node->text, ev->data.scalar.value, ev->data.scalar.length);
	node->text[ev->data.scalar.length] = '\0';
	node->len = ev->data.scalar.length;
	node->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
		       (tag && strcmp(tag, YAML_STR_TAG) == 0);
	*out = node;
	return 0;
}

/* Reads children up to the matching end event; mapping keys must be scalars. */
static int build_collection(struct tree_builder *b, struct ynode *node, yaml_event_type_t end,
			    unsigned depth)
{
	yaml_event_t ev;
	struct ynode *child;
	int err;

	for (;;) {
		err = next_event(b, &ev);
		if (err)
			return err;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			return 0;
		}
		if (node->kind == YNODE_MAPPING && node->n_items % 2 == 0 &&
		    ev.type != YAML_SCALAR_EVENT && ev.type != YAML_ALIAS_EVENT) {
			cfg_diag_set(b->diag, b->file, ev.start_mark.line + 1, ev.start_mark.column + 1,
				     "", "mapping keys must be plain strings, not a list or mapping");
			yaml_event_delete(&ev);
			return -EINVAL;
		}
		err = build_node(b, &ev, depth + 1, &child);
		if (err)
			return err;
		err = node_append(node, child);
		if (err) {
			ynode_free(child);
			return err;
		}
	}
}

/* Consumes *ev. */
static int build_node(struct tree_builder *b, yaml_event_t *ev, unsigned depth, struct ynode **out)
{
	struct ynode *node = NULL;
	int err = 0;

	if (depth > YNODE_MAX_DEPTH) {
		cfg_diag_set(b->diag, b->file, ev->start_mark.line + 1, ev->start_mark.column + 1, "",
			     "nesting deeper than %d levels", YNODE_MAX_DEPTH);
		err = -EINVAL;
		goto out_delete_event;
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		err = build_scalar(ev, &node);
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		node = node_new(ev->type == YAML_SEQUENCE_START_EVENT ? YNODE_SEQUENCE : YNODE_MAPPING, ev);
		if (!node) {
			err = -ENOMEM;
			break;
		}
		err = build_collection(b, node, ev->type == YAML_SEQUENCE_START_EVENT ?
					       YAML_SEQUENCE_END_EVENT : YAML_MAPPING_END_EVENT, depth);
		break;
	case YAML_ALIAS_EVENT:
		cfg_diag_set(b->diag, b->file, ev->start_mark.line + 1, ev->start_mark.column + 1, "",
			     "yaml aliases (*%s) are not supported; write the value out",
			     (const char *)ev->data.alias.anchor);
		err = -EINVAL;
		break;
	default:
		cfg_diag_set(b->diag, b->file, ev->start_mark.line + 1, ev->start_mark.column + 1, "",
			     "unexpected yaml event");
		err = -EINVAL;
		break;
	}
	if (err) {
		ynode_free(node);
		node = NULL;
	}
	*out = node;
out_delete_event:
	yaml_event_delete(ev);
	return err;
}

/* STREAM-START, DOCUMENT-START, node, DOCUMENT-END, STREAM-END: exactly one document. */
static int build_document(struct tree_builder *b, struct ynode **root)
{
	yaml_event_t ev;
	int err;

	err = next_event(b, &ev);  /* stream start */
	if (err)
		return err;
	yaml_event_delete(&ev);
	err = next_event(b, &ev);
	if (err)
		return err;
	if (ev.type == YAML_STREAM_END_EVENT) {
		yaml_event_delete(&ev);
		cfg_diag_set(b->diag, b->file, 1, 1, "", "file is empty; a cage needs at least 'name:'");
		return -EINVAL;
	}
	yaml_event_delete(&ev);  /* document start */
	err = next_event(b, &ev);
	if (err)
		return err;
	err = build_node(b, &ev, 1, root);
	if (err)
		return err;
	err = next_event(b, &ev);  /* document end */
	if (err)
		goto err_free_root;
	yaml_event_delete(&ev);
	err = next_event(b, &ev);
	if (err)
		goto err_free_root;
	if (ev.type != YAML_STREAM_END_EVENT) {
		cfg_diag_set(b->diag, b->file, ev.start_mark.line + 1, ev.start_mark.column + 1, "",
			     "more than one yaml document; a cage.yaml holds exactly one");
		yaml_event_delete(&ev);
		err = -EINVAL;
		goto err_free_root;
	}
	yaml_event_delete(&ev);
	return 0;

err_free_root:
	ynode_free(*root);
	*root = NULL;
	return err;
}

int ynode_parse(const char *file, const char *buf, size_t len, struct ynode **root,
		struct cage_config_diag *diag)
{
	struct tree_builder b = { .file = file, .diag = diag };
	int err;

	*root = NULL;
	if (!yaml_parser_initialize(&b.parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&b.parser, (const unsigned char *)buf, len);
	err = build_document(&b, root);
	yaml_parser_delete(&b.parser);
	return err;
}

void ynode_free(struct ynode *node)
{
	if (!node)
		return;
	for (size_t i = 0; i < node->n_items; i++)
		ynode_free(node->items[i]);
	free(node->items);
	free(node->text);
	free(node);
}

bool ynode_is_null(const struct ynode *node)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

	if (node->kind != YNODE_SCALAR || node->quoted)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(node->text, nulls[i]) == 0)
			return true;
	return false;
}

const char *ynode_kind_name(const struct ynode *node)
{
	if (node->kind == YNODE_SEQUENCE)
		return "a list";
	if (node->kind == YNODE_MAPPING)
		return "a mapping";
	if (ynode_is_null(node))
		return "nothing";
	return node->quoted ? "a quoted string" : "a scalar";
}

struct emit_buffer {
	char *data;
	size_t len, cap;
	bool failed;
};

static int emit_write(void *arg, unsigned char *bytes, size_t size)
{
	struct emit_buffer *out = arg;

	if (out->len + size + 1 > out->cap) {
		size_t cap = (out->cap ? out->cap * 2 : 256) + size;
		char *data = realloc(out->data, cap);

		if (!data) {
			out->failed = true;
			return 0;
		}
		out->data = data;
		out->cap = cap;
	}
	memcpy(out->data + out->len, bytes, size);
	out->len += size;
	out->data[out->len] = '\0';
	return 1;
}

static int emit_node(yaml_emitter_t *em, const struct ynode *node)
{
	yaml_event_t ev;
	int ok;

	switch (node->kind) {
	case YNODE_SCALAR:
		/* A quoted scalar stays quoted so "80" comes back a string, not a number. */
		ok = yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)node->text, (int)node->len,
						  !node->quoted, 1, node->quoted ?
						  YAML_SINGLE_QUOTED_SCALAR_STYLE : YAML_ANY_SCALAR_STYLE);
		return ok && yaml_emitter_emit(em, &ev) ? 0 : -ENOMEM;
	case YNODE_SEQUENCE:
		ok = yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_ANY_SEQUENCE_STYLE);
		break;
	case YNODE_MAPPING:
		ok = yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_ANY_MAPPING_STYLE);
		break;
	default:
		return -EINVAL;
	}
	if (!ok || !yaml_emitter_emit(em, &ev))
		return -ENOMEM;
	for (size_t i = 0; i < node->n_items; i++)
		if (emit_node(em, node->items[i]))
			return -ENOMEM;
	ok = node->kind == YNODE_SEQUENCE ? yaml_sequence_end_event_initialize(&ev) :
					    yaml_mapping_end_event_initialize(&ev);
	return ok && yaml_emitter_emit(em, &ev) ? 0 : -ENOMEM;
}

char *ynode_emit(const struct ynode *node)
{
	struct emit_buffer out = { 0 };
	yaml_emitter_t em;
	yaml_event_t ev;
	bool ok;

	if (!yaml_emitter_initialize(&em))
		return NULL;
	yaml_emitter_set_output(&em, emit_write, &out);
	yaml_emitter_set_unicode(&em, 1);
	ok = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) && yaml_emitter_emit(&em, &ev) &&
	     yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) &&
	     yaml_emitter_emit(&em, &ev) && emit_node(&em, node) == 0 &&
	     yaml_document_end_event_initialize(&ev, 1) && yaml_emitter_emit(&em, &ev) &&
	     yaml_stream_end_event_initialize(&ev) && yaml_emitter_emit(&em, &ev);
	yaml_emitter_delete(&em);
	if (!ok || out.failed) {
		free(out.data);
		return NULL;
	}
	return out.data;
}
