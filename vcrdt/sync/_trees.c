/*
 * vcrdt.sync._trees: the per-tree work of a sync, in C.
 *
 * Each function has a pure-Python twin in vcrdt/sync/frames.py, which stays
 * the reference: a property test holds the two equal on random and malformed
 * input.  A function here never decides an error: on anything it does not
 * accept exactly as the twin would (a malformed frame, an unsorted tree, an
 * entry too short to hold a name and an id, a varint past 63 bits) it returns
 * None and the caller runs the twin, which raises the twin's error or gives
 * the twin's answer.  So the errors and their wording stay in one place.
 *
 * A raw tree entry is the bytes "word SP name NUL id[32]" (docs/format.md);
 * its name, as frames.entry_name takes it, is entry[5:-33].
 *
 * split_tree(body, strict) -> list[bytes] | None
 *   The entries of a tree body, or None if they do not tile it.  Each entry:
 *   a kind word (file, exec, link, tree, subm), a space, a name up to the
 *   first NUL, the NUL and 32 bytes.  strict: the name is not empty and holds
 *   no "/" (frames.split_tree); else any name (walk.split_entries).
 *
 * changed(new, olds) -> list[int] | None
 *   The positions of the entries of `new` that are in none of the lists of
 *   `olds` (by their bytes).  None unless every list's names ascend strictly
 *   (frames.changed_entries_py).
 *
 * delta_edits(base, new) -> bytes | None
 *   The edits part of a tree delta (nrep, replaces, ndel, removes, nins,
 *   inserts; docs/protocol.md) turning `base`'s entries into `new`'s: as
 *   frames.diff_trees chooses them and frames.encode_tree_delta writes them.
 *   None unless both lists' names ascend strictly and every word met is a
 *   kind word.
 *
 * read_tree_delta(payload) -> (base, size) | None
 *   A tree delta frame's base (distance back: int; or id: bytes) and size,
 *   when the whole frame passes every check of frames.decode_tree_delta.
 *
 * apply_tree_delta(payload, base) -> (entries, body, added) | None
 *   What frames.apply_tree_delta makes of `base`'s raw entries and the
 *   decoded frame: the new tree's entries, its body (the entries joined) and
 *   the entries the delta added (replaced, then inserted); None if the frame
 *   does not decode or the twin would refuse the result.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#define OID_LEN 32
#define WORD_LEN 4
#define NAME_AT 5
/* The shortest entry frames.entry_name reads as intended: word, space, a name, NUL, id. */
#define MIN_ENTRY (NAME_AT + 1 + OID_LEN)
#define MIN_INSERT (1 + 1 + 1 + 1 + OID_LEN)
#define PIECE (1 << 20)
#define BASE_BACK 1
#define BASE_ID 2

static const char *const WORDS[6] = {NULL, "file", "exec", "link", "tree", "subm"};

/* The code of a kind word (1-5), 0 if it is none. */
static int
word_code(const char *p)
{
    for (int i = 1; i <= 5; i++)
        if (memcmp(p, WORDS[i], WORD_LEN) == 0)
            return i;
    return 0;
}

/* --- split_tree ------------------------------------------------------------------------------ */

static PyObject *
split_tree(PyObject *self, PyObject *args)
{
    Py_buffer view;
    int strict;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*p:split_tree", &view, &strict))
        return NULL;
    const char *buf = view.buf;
    Py_ssize_t n = view.len, pos = 0;
    PyObject *out = PyList_New(0);
    if (out == NULL)
        goto fail;
    while (pos < n) {
        if (n - pos < NAME_AT || !word_code(buf + pos) || buf[pos + WORD_LEN] != ' ')
            goto none;
        const char *name = buf + pos + NAME_AT;
        const char *nul = memchr(name, '\0', (size_t)(n - pos - NAME_AT));
        if (nul == NULL)
            goto none;
        if (strict && (nul == name || memchr(name, '/', (size_t)(nul - name)) != NULL))
            goto none;
        Py_ssize_t end = (nul - buf) + 1 + OID_LEN;
        if (end > n)
            goto none;
        PyObject *entry = PyBytes_FromStringAndSize(buf + pos, end - pos);
        if (entry == NULL)
            goto fail;
        int rc = PyList_Append(out, entry);
        Py_DECREF(entry);
        if (rc < 0)
            goto fail;
        pos = end;
    }
    PyBuffer_Release(&view);
    return out;
none:
    Py_DECREF(out);
    PyBuffer_Release(&view);
    Py_RETURN_NONE;
fail:
    Py_XDECREF(out);
    PyBuffer_Release(&view);
    return NULL;
}

/* --- comparing entry lists ------------------------------------------------------------------- */

/* One list of raw entries, read: each item's bytes and length. */
typedef struct {
    Py_ssize_t n;
    const char **data;
    Py_ssize_t *len;
} Entries;

static void
entries_free(Entries *e)
{
    PyMem_Free(e->data);
    PyMem_Free(e->len);
    e->data = NULL;
    e->len = NULL;
}

static int
name_cmp(const char *a, Py_ssize_t alen, const char *b, Py_ssize_t blen)
{
    Py_ssize_t na = alen - MIN_ENTRY, nb = blen - MIN_ENTRY;
    int c = memcmp(a + NAME_AT, b + NAME_AT, (size_t)(na < nb ? na : nb));
    if (c != 0)
        return c;
    return na < nb ? -1 : na > nb;
}

/* Read a list of bytes: 1 when every item is bytes of at least MIN_ENTRY bytes and the names ascend
   strictly, 0 when not (the caller answers None), -1 on an error (memory). */
static int
entries_read(PyObject *list, Entries *e)
{
    e->data = NULL;
    e->len = NULL;
    if (!PyList_CheckExact(list))
        return 0;
    e->n = PyList_GET_SIZE(list);
    e->data = PyMem_New(const char *, e->n ? e->n : 1);
    e->len = PyMem_New(Py_ssize_t, e->n ? e->n : 1);
    if (e->data == NULL || e->len == NULL) {
        entries_free(e);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < e->n; i++) {
        PyObject *item = PyList_GET_ITEM(list, i);
        if (!PyBytes_CheckExact(item) || PyBytes_GET_SIZE(item) < MIN_ENTRY)
            goto no;
        e->data[i] = PyBytes_AS_STRING(item);
        e->len[i] = PyBytes_GET_SIZE(item);
        if (i && name_cmp(e->data[i - 1], e->len[i - 1], e->data[i], e->len[i]) >= 0)
            goto no;
    }
    return 1;
no:
    entries_free(e);
    return 0;
}

static int
same_entry(const Entries *a, Py_ssize_t i, const Entries *b, Py_ssize_t j)
{
    return a->len[i] == b->len[j] && memcmp(a->data[i], b->data[j], (size_t)a->len[i]) == 0;
}

static PyObject *
changed(PyObject *self, PyObject *args)
{
    PyObject *new_list, *olds_list, *out = NULL;
    Entries nw, *olds = NULL;
    Py_ssize_t k = 0, nolds;
    char *kept = NULL;
    (void)self;
    if (!PyArg_ParseTuple(args, "OO:changed", &new_list, &olds_list))
        return NULL;
    if (!PyList_CheckExact(olds_list))
        Py_RETURN_NONE;
    int rc = entries_read(new_list, &nw);
    if (rc <= 0)
        return rc < 0 ? NULL : Py_NewRef(Py_None);
    nolds = PyList_GET_SIZE(olds_list);
    olds = PyMem_New(Entries, nolds ? nolds : 1);
    kept = PyMem_Calloc((size_t)(nw.n ? nw.n : 1), 1);
    if (olds == NULL || kept == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (k = 0; k < nolds; k++) {
        rc = entries_read(PyList_GET_ITEM(olds_list, k), &olds[k]);
        if (rc <= 0) {
            if (rc == 0)
                out = Py_NewRef(Py_None);
            goto done;
        }
        /* Merge by name: an entry of `new` is kept when the old entry of its name is the same. */
        const Entries *o = &olds[k];
        Py_ssize_t i = 0, j = 0;
        while (i < nw.n && j < o->n) {
            int c = name_cmp(nw.data[i], nw.len[i], o->data[j], o->len[j]);
            if (c < 0)
                i++;
            else if (c > 0)
                j++;
            else {
                if (same_entry(&nw, i, o, j))
                    kept[i] = 1;
                i++;
                j++;
            }
        }
    }
    out = PyList_New(0);
    if (out == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < nw.n; i++) {
        if (kept[i])
            continue;
        PyObject *at = PyLong_FromSsize_t(i);
        if (at == NULL || PyList_Append(out, at) < 0) {
            Py_XDECREF(at);
            Py_CLEAR(out);
            goto done;
        }
        Py_DECREF(at);
    }
done:
    for (Py_ssize_t m = 0; m < k; m++)
        entries_free(&olds[m]);
    PyMem_Free(olds);
    PyMem_Free(kept);
    entries_free(&nw);
    return out;
}

/* --- making a tree delta --------------------------------------------------------------------- */

typedef struct {
    char *buf;
    Py_ssize_t len, cap;
} Buf;

static int
buf_put(Buf *b, const void *data, Py_ssize_t n)
{
    if (b->len + n > b->cap) {
        Py_ssize_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        char *grown = PyMem_Realloc(b->buf, (size_t)cap);
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        b->buf = grown;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, data, (size_t)n);
    b->len += n;
    return 0;
}

static int
buf_varint(Buf *b, uint64_t v)
{
    unsigned char tmp[10];
    int n = 0;
    do {
        unsigned char byte = v & 0x7F;
        v >>= 7;
        tmp[n++] = v ? (byte | 0x80) : byte;
    } while (v);
    return buf_put(b, tmp, n);
}

static PyObject *
delta_edits(PyObject *self, PyObject *args)
{
    PyObject *base_list, *new_list, *out = NULL;
    Entries base, nw;
    Py_ssize_t *rep = NULL, *rep_at = NULL, *del = NULL, *ins = NULL;
    Py_ssize_t nrep = 0, ndel = 0, nins = 0;
    Buf b = {NULL, 0, 0};
    (void)self;
    if (!PyArg_ParseTuple(args, "OO:delta_edits", &base_list, &new_list))
        return NULL;
    int rc = entries_read(base_list, &base);
    if (rc <= 0)
        return rc < 0 ? NULL : Py_NewRef(Py_None);
    rc = entries_read(new_list, &nw);
    if (rc <= 0) {
        entries_free(&base);
        return rc < 0 ? NULL : Py_NewRef(Py_None);
    }
    Py_ssize_t most = base.n + nw.n + 1;
    rep = PyMem_New(Py_ssize_t, most);
    rep_at = PyMem_New(Py_ssize_t, most);
    del = PyMem_New(Py_ssize_t, most);
    ins = PyMem_New(Py_ssize_t, most);
    if (rep == NULL || rep_at == NULL || del == NULL || ins == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    /* Merge by name: same name, other bytes: replaced (base position, new entry); base only: removed;
       new only: inserted (new position).  All three come out ascending, as diff_trees sorts them. */
    Py_ssize_t i = 0, j = 0;
    while (i < base.n || j < nw.n) {
        int c = i == base.n ? 1 : j == nw.n ? -1 : name_cmp(base.data[i], base.len[i], nw.data[j], nw.len[j]);
        if (c < 0)
            del[ndel++] = i++;
        else if (c > 0)
            ins[nins++] = j++;
        else {
            if (!same_entry(&base, i, &nw, j)) {
                rep_at[nrep] = i;
                rep[nrep++] = j;
            }
            i++;
            j++;
        }
    }
    if (buf_varint(&b, (uint64_t)nrep) < 0)
        goto done;
    for (Py_ssize_t r = 0; r < nrep; r++) {
        const char *e = nw.data[rep[r]];
        unsigned char code = (unsigned char)word_code(e);
        if (!code) {
            out = Py_NewRef(Py_None);
            goto done;
        }
        if (buf_varint(&b, (uint64_t)rep_at[r]) < 0 || buf_put(&b, &code, 1) < 0 ||
            buf_put(&b, e + nw.len[rep[r]] - OID_LEN, OID_LEN) < 0)
            goto done;
    }
    if (buf_varint(&b, (uint64_t)ndel) < 0)
        goto done;
    for (Py_ssize_t r = 0; r < ndel; r++)
        if (buf_varint(&b, (uint64_t)del[r]) < 0)
            goto done;
    if (buf_varint(&b, (uint64_t)nins) < 0)
        goto done;
    for (Py_ssize_t r = 0; r < nins; r++) {
        const char *e = nw.data[ins[r]];
        Py_ssize_t len = nw.len[ins[r]], name_len = len - MIN_ENTRY;
        unsigned char code = (unsigned char)word_code(e);
        if (!code) {
            out = Py_NewRef(Py_None);
            goto done;
        }
        if (buf_varint(&b, (uint64_t)ins[r]) < 0 || buf_put(&b, &code, 1) < 0 ||
            buf_varint(&b, (uint64_t)name_len) < 0 || buf_put(&b, e + NAME_AT, name_len) < 0 ||
            buf_put(&b, e + len - OID_LEN, OID_LEN) < 0)
            goto done;
    }
    out = PyBytes_FromStringAndSize(b.buf, b.len);
done:
    PyMem_Free(b.buf);
    PyMem_Free(rep);
    PyMem_Free(rep_at);
    PyMem_Free(del);
    PyMem_Free(ins);
    entries_free(&base);
    entries_free(&nw);
    return out;
}

/* --- reading and applying a tree delta ------------------------------------------------------- */

/* A varint as frames._read_varint reads it (at most 10 bytes); 0 if malformed or past 63 bits. */
static int
read_varint(const unsigned char *p, Py_ssize_t end, Py_ssize_t *pos, uint64_t *out)
{
    uint64_t v = 0;
    int shift = 0;
    Py_ssize_t stop = *pos + 10 < end ? *pos + 10 : end;
    for (Py_ssize_t i = *pos; i < stop; i++) {
        uint64_t bits = p[i] & 0x7F;
        if (bits && shift > 56) /* past 63 bits: the twin reads it */
            return 0;
        if (bits)
            v |= bits << shift;
        if (!(p[i] & 0x80)) {
            *out = v;
            *pos = i + 1;
            return 1;
        }
        shift += 7;
    }
    return 0;
}

/* One tree delta frame, decoded in place: every check of frames.decode_tree_delta passed. */
typedef struct {
    int how;
    uint64_t back;
    const unsigned char *base_id;
    uint64_t size;
    Py_ssize_t nrep, ndel, nins;
    Py_ssize_t rep_pos, del_pos, ins_pos; /* where each list starts in the payload */
} Delta;

/* Decode and check a frame: 1 if it passes every check of decode_tree_delta, 0 if not. */
static int
delta_read(const unsigned char *p, Py_ssize_t end, Delta *d)
{
    Py_ssize_t pos = 1;
    uint64_t v, last = 0;
    if (end < 1 || (p[0] != BASE_BACK && p[0] != BASE_ID))
        return 0;
    d->how = p[0];
    if (d->how == BASE_BACK) {
        if (!read_varint(p, end, &pos, &d->back) || d->back < 1)
            return 0;
    } else {
        if (end < pos + OID_LEN)
            return 0;
        d->base_id = p + pos;
        pos += OID_LEN;
    }
    if (!read_varint(p, end, &pos, &d->size) || d->size > PIECE)
        return 0;
    /* replaced */
    if (!read_varint(p, end, &pos, &v) || v > (uint64_t)(end - pos) / (2 + OID_LEN))
        return 0;
    d->nrep = (Py_ssize_t)v;
    d->rep_pos = pos;
    for (Py_ssize_t r = 0; r < d->nrep; r++) {
        if (!read_varint(p, end, &pos, &v) || (r && v <= last))
            return 0;
        last = v;
        if (pos + 1 + OID_LEN > end || p[pos] < 1 || p[pos] > 5)
            return 0;
        pos += 1 + OID_LEN;
    }
    /* removed */
    if (!read_varint(p, end, &pos, &v) || v > (uint64_t)(end - pos))
        return 0;
    d->ndel = (Py_ssize_t)v;
    d->del_pos = pos;
    for (Py_ssize_t r = 0; r < d->ndel; r++) {
        if (!read_varint(p, end, &pos, &v) || (r && v <= last))
            return 0;
        last = v;
    }
    /* inserted */
    if (!read_varint(p, end, &pos, &v) || v > (uint64_t)(end - pos) / MIN_INSERT)
        return 0;
    d->nins = (Py_ssize_t)v;
    d->ins_pos = pos;
    for (Py_ssize_t r = 0; r < d->nins; r++) {
        if (!read_varint(p, end, &pos, &v) || (r && v <= last))
            return 0;
        last = v;
        if (pos >= end || p[pos] < 1 || p[pos] > 5)
            return 0;
        pos++;
        if (!read_varint(p, end, &pos, &v) || v == 0 || v > (uint64_t)(end - pos) ||
            (uint64_t)(end - pos) - v < OID_LEN)
            return 0;
        if (memchr(p + pos, '\0', (size_t)v) != NULL || memchr(p + pos, '/', (size_t)v) != NULL)
            return 0;
        pos += (Py_ssize_t)v + OID_LEN;
    }
    return pos == end;
}

static PyObject *
read_tree_delta(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    Delta d;
    PyObject *out;
    (void)self;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    if (!delta_read(view.buf, view.len, &d))
        out = Py_NewRef(Py_None);
    else if (d.how == BASE_BACK)
        out = Py_BuildValue("(KK)", (unsigned long long)d.back, (unsigned long long)d.size);
    else
        out = Py_BuildValue("(y#K)", (const char *)d.base_id, (Py_ssize_t)OID_LEN, (unsigned long long)d.size);
    PyBuffer_Release(&view);
    return out;
}

/* frames.entry_name(a) >= frames.entry_name(b), for entries of at least MIN_ENTRY bytes. */
static int
name_ge(PyObject *a, PyObject *b)
{
    return name_cmp(PyBytes_AS_STRING(a), PyBytes_GET_SIZE(a), PyBytes_AS_STRING(b), PyBytes_GET_SIZE(b)) >= 0;
}

static PyObject *
apply_tree_delta(PyObject *self, PyObject *args)
{
    Py_buffer view;
    PyObject *base_list, *out = NULL, *entries = NULL, *added = NULL, *body = NULL;
    PyObject **mid = NULL;
    Py_ssize_t nmid = 0; /* how many of `mid` hold a reference (the clean-up's bound) */
    char *gone = NULL;
    Delta d;
    (void)self;
    if (!PyArg_ParseTuple(args, "y*O:apply_tree_delta", &view, &base_list))
        return NULL;
    const unsigned char *p = view.buf;
    Py_ssize_t end = view.len;
    if (!PyList_CheckExact(base_list) || !delta_read(p, end, &d))
        goto none;
    Py_ssize_t n = PyList_GET_SIZE(base_list);
    /* The base's entries are checked and taken in one pass, before any allocation that could run
     * the collector (and code that might change the list). */
    mid = PyMem_New(PyObject *, n ? n : 1);
    if (mid == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *e = PyList_GET_ITEM(base_list, i);
        if (!PyBytes_CheckExact(e) || PyBytes_GET_SIZE(e) < MIN_ENTRY)
            goto none;
        mid[nmid++] = Py_NewRef(e);
    }
    added = PyList_New(0);
    gone = PyMem_Calloc((size_t)(n ? n : 1), 1);
    if (added == NULL || gone == NULL) {
        if (added != NULL)
            PyErr_NoMemory();
        goto fail;
    }
    /* Replace: the entry keeps its name (its bytes between word and id), takes a kind and an id. */
    Py_ssize_t pos = d.rep_pos;
    for (Py_ssize_t r = 0; r < d.nrep; r++) {
        uint64_t at;
        read_varint(p, end, &pos, &at);
        if (at >= (uint64_t)n)
            goto none;
        PyObject *old = mid[at];
        Py_ssize_t len = PyBytes_GET_SIZE(old);
        PyObject *e = PyBytes_FromStringAndSize(NULL, len);
        if (e == NULL)
            goto fail;
        char *q = PyBytes_AS_STRING(e);
        memcpy(q, WORDS[p[pos]], WORD_LEN);
        memcpy(q + WORD_LEN, PyBytes_AS_STRING(old) + WORD_LEN, (size_t)(len - WORD_LEN - OID_LEN));
        memcpy(q + len - OID_LEN, p + pos + 1, OID_LEN);
        pos += 1 + OID_LEN;
        mid[at] = e;
        Py_DECREF(old);
        if (PyList_Append(added, e) < 0)
            goto fail;
    }
    /* Remove. */
    Py_ssize_t m = n;
    pos = d.del_pos;
    for (Py_ssize_t r = 0; r < d.ndel; r++) {
        uint64_t at;
        read_varint(p, end, &pos, &at);
        if (at >= (uint64_t)n)
            goto none;
        gone[at] = 1;
        m--;
    }
    if (d.ndel) {
        pos = d.rep_pos;
        for (Py_ssize_t r = 0; r < d.nrep; r++) {
            uint64_t at;
            read_varint(p, end, &pos, &at);
            if (gone[at])
                goto none;
            pos += 1 + OID_LEN;
        }
    }
    /* Insert, each at its position in the new tree (ascending: at most the length of the tree so far). */
    Py_ssize_t total = m + d.nins;
    entries = PyList_New(total);
    if (entries == NULL)
        goto fail;
    Py_ssize_t k = 0, src = 0;
    pos = d.ins_pos;
    for (Py_ssize_t r = 0; r < d.nins; r++) {
        uint64_t at, len;
        read_varint(p, end, &pos, &at);
        if (at > (uint64_t)(m + r))
            goto none;
        int code = p[pos++];
        read_varint(p, end, &pos, &len);
        PyObject *e = PyBytes_FromStringAndSize(NULL, NAME_AT + (Py_ssize_t)len + 1 + OID_LEN);
        if (e == NULL)
            goto fail;
        char *q = PyBytes_AS_STRING(e);
        memcpy(q, WORDS[code], WORD_LEN);
        q[WORD_LEN] = ' ';
        memcpy(q + NAME_AT, p + pos, (size_t)len);
        q[NAME_AT + len] = '\0';
        memcpy(q + NAME_AT + len + 1, p + pos + len, OID_LEN);
        pos += (Py_ssize_t)len + OID_LEN;
        while (k < (Py_ssize_t)at) {
            while (gone[src])
                src++;
            PyList_SET_ITEM(entries, k++, Py_NewRef(mid[src++]));
        }
        PyList_SET_ITEM(entries, k++, e);
        if (PyList_Append(added, e) < 0)
            goto fail;
    }
    while (k < total) {
        while (gone[src])
            src++;
        PyList_SET_ITEM(entries, k++, Py_NewRef(mid[src++]));
    }
    /* Sorted and unique around each inserted entry; then the size. */
    pos = d.ins_pos;
    for (Py_ssize_t r = 0; r < d.nins; r++) {
        uint64_t at, len;
        read_varint(p, end, &pos, &at);
        pos++;
        read_varint(p, end, &pos, &len);
        pos += (Py_ssize_t)len + OID_LEN;
        PyObject *e = PyList_GET_ITEM(entries, at);
        if ((at && name_ge(PyList_GET_ITEM(entries, at - 1), e)) ||
            ((Py_ssize_t)at + 1 < total && name_ge(e, PyList_GET_ITEM(entries, at + 1))))
            goto none;
    }
    Py_ssize_t size = 0;
    for (Py_ssize_t i = 0; i < total; i++)
        size += PyBytes_GET_SIZE(PyList_GET_ITEM(entries, i));
    if ((uint64_t)size != d.size)
        goto none;
    body = PyBytes_FromStringAndSize(NULL, size);
    if (body == NULL)
        goto fail;
    char *q = PyBytes_AS_STRING(body);
    for (Py_ssize_t i = 0; i < total; i++) {
        PyObject *e = PyList_GET_ITEM(entries, i);
        memcpy(q, PyBytes_AS_STRING(e), (size_t)PyBytes_GET_SIZE(e));
        q += PyBytes_GET_SIZE(e);
    }
    out = PyTuple_Pack(3, entries, body, added);
    goto fail; /* the common clean-up */
none:
    out = Py_NewRef(Py_None);
fail:
    for (Py_ssize_t i = 0; i < nmid; i++)
        Py_XDECREF(mid[i]);
    PyMem_Free(mid);
    PyMem_Free(gone);
    Py_XDECREF(entries);
    Py_XDECREF(added);
    Py_XDECREF(body);
    PyBuffer_Release(&view);
    return out;
}

static PyMethodDef methods[] = {
    {"split_tree", split_tree, METH_VARARGS,
     "split_tree(body, strict) -> list | None: a tree body's raw entries, None if they do not tile it."},
    {"changed", changed, METH_VARARGS,
     "changed(new, olds) -> list | None: positions of the entries of new in none of olds."},
    {"delta_edits", delta_edits, METH_VARARGS,
     "delta_edits(base, new) -> bytes | None: the edits of a tree delta turning base into new."},
    {"read_tree_delta", read_tree_delta, METH_O,
     "read_tree_delta(payload) -> (base, size) | None: a tree delta frame's base and size, if it is well formed."},
    {"apply_tree_delta", apply_tree_delta, METH_VARARGS,
     "apply_tree_delta(payload, base) -> (entries, body, added) | None: a tree delta applied to base's entries."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "vcrdt.sync._trees",
    .m_doc = "The per-tree work of a sync (see vcrdt/sync/frames.py, which holds the Python twins).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__trees(void)
{
    return PyModule_Create(&module);
}
