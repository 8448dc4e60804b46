/*
 * vcrdt.porcelain._logtext: `vcrdt log`'s walk over the commit table and its
 * uncoloured default and `--oneline` formats, in C.
 *
 * The pure-Python twin is `vcrdt.porcelain.logtext.LogWalk` (same methods,
 * same results); `vcrdt.porcelain.history.log_text` drives either.  The walk
 * is `vcrdt.dag.iter_log`'s (newest first by Lamport clock, author time, id;
 * each commit's parents read right after it is shown) with
 * `vcrdt.porcelain.history.log`'s hidden commits and limit, and the text is
 * `vcrdt.cli.views.commit_header_text`'s (a blank line between two) or
 * `oneline_text`'s plus a newline.
 *
 * LogWalk(heads, hidden, labels, limit, first_parent, oneline, format_date)
 *   heads        list of ids (bytes) to start from
 *   hidden       set of ids not shown (their history is still walked), or None
 *   labels       dict id -> the decorations joined ("HEAD -> main, tag: v1")
 *   limit        at most this many shown (-1: no limit)
 *   format_date  the Python date formatter, called for a date outside the
 *                years 1-9999 or an offset of 100 hours or more
 * run() -> None when the walk is over; bytes: the id whose row it needs
 *   (the driver reads the table's rows around it, `window` of them, feeds
 *   them, and, when the id still has none, puts the row of its object);
 *   False when this walk cannot go on (a value it cannot hold, text that is
 *   not UTF-8): the driver then runs the Python twin, which skips the
 *   `shown` entries already written.
 * feed(rows, oid) -> bool: table rows (id, lamport, time, tz, parents,
 *   name, email, message) kept for the walk; a row whose values are not of
 *   those exact types, whose id is not 32 bytes or whose parents are not
 *   whole ids is left out, as `vcrdt.store.commits.parse_rows` leaves it
 *   out.  Returns whether `oid` has a row now.
 * put(row) -> bool: one row made from a commit object; False if malformed.
 * take() -> str: the text made since the last take().
 * Errors raised by format_date go up; the text of the entries before is
 * still there for take().
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#define OID_LEN 32
#define SHORT_LEN 12
#define AHEAD_MIN 16
#define AHEAD_MAX 512
#define AHEAD_KEEP 4096

typedef struct {
    PyObject *oid; /* bytes */
    PyObject *row; /* the validated row tuple */
    int64_t lamport;
    int64_t time;
} Entry;

typedef struct {
    PyObject_HEAD
    PyObject *hidden;      /* set or NULL */
    PyObject *labels;      /* dict */
    PyObject *format_date; /* callable */
    PyObject *ahead;       /* dict id -> row */
    PyObject *seen;        /* set */
    PyObject *pending;     /* list of ids to push, or NULL */
    Py_ssize_t pending_at;
    PyObject *need;        /* the id last asked for, or NULL */
    Entry *heap;
    Py_ssize_t heap_len, heap_cap;
    char *buf;
    size_t len, cap;
    long long limit;
    long long shown;
    int first_parent, oneline, done, unsure;
    int window, hits;
} Walk;

/* ---- the output buffer ---- */

static int
grow(Walk *w, size_t more)
{
    if (w->len + more <= w->cap)
        return 0;
    size_t cap = w->cap ? w->cap : 65536;
    while (cap < w->len + more) {
        if (cap > ((size_t)PY_SSIZE_T_MAX) / 2) {
            PyErr_NoMemory();
            return -1;
        }
        cap *= 2;
    }
    char *buf = PyMem_Realloc(w->buf, cap);
    if (buf == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    w->buf = buf;
    w->cap = cap;
    return 0;
}

static int
put_bytes(Walk *w, const char *s, size_t n)
{
    if (grow(w, n) < 0)
        return -1;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    return 0;
}

#define PUT_LIT(w, lit) put_bytes((w), (lit), sizeof(lit) - 1)

static int
is_stripped_control(Py_UCS4 ch)
{
    return ch == 7 || ch == 8 || ch == 11 || ch == 12 || ch == 13;
}

/* Append s[start:end] as UTF-8 (dropping the control codes a Text drops when
 * `strip`).  Returns -1 with an exception set, -2 for a surrogate (not
 * UTF-8: the walk is unsure). */
static int
put_str(Walk *w, PyObject *s, Py_ssize_t start, Py_ssize_t end, int strip)
{
    if (end <= start)
        return 0;
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    if (PyUnicode_IS_ASCII(s)) {
        const char *p = (const char *)data + start;
        size_t n = (size_t)(end - start);
        if (grow(w, n) < 0)
            return -1;
        if (!strip) {
            memcpy(w->buf + w->len, p, n);
            w->len += n;
        } else {
            for (size_t i = 0; i < n; i++)
                if (!is_stripped_control((unsigned char)p[i]))
                    w->buf[w->len++] = p[i];
        }
        return 0;
    }
    if (grow(w, (size_t)(end - start) * 4) < 0)
        return -1;
    char *o = w->buf + w->len;
    for (Py_ssize_t i = start; i < end; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (ch < 0x80) {
            if (strip && is_stripped_control(ch))
                continue;
            *o++ = (char)ch;
        } else if (ch < 0x800) {
            *o++ = (char)(0xC0 | (ch >> 6));
            *o++ = (char)(0x80 | (ch & 0x3F));
        } else if (ch < 0x10000) {
            if (ch >= 0xD800 && ch <= 0xDFFF)
                return -2;
            *o++ = (char)(0xE0 | (ch >> 12));
            *o++ = (char)(0x80 | ((ch >> 6) & 0x3F));
            *o++ = (char)(0x80 | (ch & 0x3F));
        } else {
            *o++ = (char)(0xF0 | (ch >> 18));
            *o++ = (char)(0x80 | ((ch >> 12) & 0x3F));
            *o++ = (char)(0x80 | ((ch >> 6) & 0x3F));
            *o++ = (char)(0x80 | (ch & 0x3F));
        }
    }
    w->len = (size_t)(o - w->buf);
    return 0;
}

/* git's whitespace inside a line (its ctype's isspace; a newline ends the line). */
static int
git_space(Py_UCS4 c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* The line of `data` that starts at `at`: returns where it ends (its newline, or `end`) and sets
 * *stop to where its text ends, without trailing whitespace. */
static Py_ssize_t
line_end(int kind, const void *data, Py_ssize_t at, Py_ssize_t end, Py_ssize_t *stop)
{
    Py_ssize_t nl = at;
    while (nl < end && PyUnicode_READ(kind, data, nl) != '\n')
        nl++;
    Py_ssize_t s = nl;
    while (s > at && git_space(PyUnicode_READ(kind, data, s - 1)))
        s--;
    *stop = s;
    return nl;
}

/* Append the line s[at:stop] of a message with its tabs expanded to stops of eight columns, as
 * `git log` expands them (vcrdt.messages.expand_tabs): from a control code on, the line is
 * written as it is.  Columns are counted here in printable ASCII only; a tab after other text
 * returns -2 (the Python twin counts those). */
static int
put_line(Walk *w, PyObject *s, int kind, const void *data, Py_ssize_t at, Py_ssize_t stop)
{
    Py_ssize_t chunk = at;
    for (Py_ssize_t i = at; i < stop; i++) {
        Py_UCS4 ch = PyUnicode_READ(kind, data, i);
        if (ch != '\t') {
            continue;
        }
        int other = 0;
        for (Py_ssize_t j = chunk; j < i; j++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, j);
            if (c < 0x20 || (c >= 0x7F && c < 0xA0))
                return put_str(w, s, chunk, stop, 0);
            if (c > 0x7E)
                other = 1;
        }
        if (other)
            return -2;
        int r = put_str(w, s, chunk, i, 0);
        if (r < 0)
            return r;
        size_t spaces = 8 - (size_t)((i - chunk) % 8);
        if (grow(w, spaces) < 0)
            return -1;
        memset(w->buf + w->len, ' ', spaces);
        w->len += spaces;
        chunk = i + 1;
    }
    return put_str(w, s, chunk, stop, 0);
}

static const char HEX[] = "0123456789abcdef";

static int
put_hex(Walk *w, const unsigned char *id, int n)
{
    if (grow(w, (size_t)n * 2) < 0)
        return -1;
    char *o = w->buf + w->len; /* a local pointer: w->len is not reloaded and stored per digit */
    for (int i = 0; i < n; i++) {
        o[2 * i] = HEX[id[i] >> 4];
        o[2 * i + 1] = HEX[id[i] & 15];
    }
    w->len += (size_t)n * 2;
    return 0;
}

/* ---- dates, as vcrdt.cli.render.format_date writes them ---- */

static const char *DAYS[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
static const char *MONTHS[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
#define FIRST_SECOND (-62135596800LL) /* 0001-01-01T00:00:00 */
#define LAST_SECOND 253402300799LL    /* 9999-12-31T23:59:59 */

static int64_t
floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* Write the date into out (at least 64 bytes); return its length, or 0 when
 * it is for format_date to write. */
static int
c_date(int64_t timestamp, int64_t tz, char *out)
{
    if (tz <= -6000 || tz >= 6000)
        return 0;
    if (timestamp < FIRST_SECOND - 6000 * 60 || timestamp > LAST_SECOND + 6000 * 60)
        return 0;
    int64_t t = timestamp + tz * 60;
    if (t < FIRST_SECOND || t > LAST_SECOND)
        return 0;
    int64_t day = floor_div(t, 86400);
    int64_t second = t - day * 86400;
    /* civil_from_days (H. Hinnant) */
    int64_t z = day + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t y = yoe + era * 400;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2)
        y++;
    int64_t wday = day + 3 - floor_div(day + 3, 7) * 7;
    int64_t a = tz < 0 ? -tz : tz;
    char *o = out;
    memcpy(o, DAYS[wday], 3);
    memcpy(o + 3, " ", 1);
    memcpy(o + 4, MONTHS[m - 1], 3);
    o += 7;
    *o++ = ' ';
    if (d >= 10)
        *o++ = (char)('0' + d / 10);
    *o++ = (char)('0' + d % 10);
    *o++ = ' ';
    int hms[3] = {(int)(second / 3600), (int)(second / 60 % 60), (int)(second % 60)};
    for (int i = 0; i < 3; i++) {
        if (i)
            *o++ = ':';
        *o++ = (char)('0' + hms[i] / 10);
        *o++ = (char)('0' + hms[i] % 10);
    }
    *o++ = ' ';
    char digits[8];
    int nd = 0;
    for (int64_t v = y; v > 0; v /= 10) /* y is 1..9999 */
        digits[nd++] = (char)('0' + v % 10);
    while (nd)
        *o++ = digits[--nd];
    *o++ = ' ';
    *o++ = tz < 0 ? '-' : '+';
    int hh = (int)(a / 60), mm = (int)(a % 60); /* hh < 100 */
    *o++ = (char)('0' + hh / 10);
    *o++ = (char)('0' + hh % 10);
    *o++ = (char)('0' + mm / 10);
    *o++ = (char)('0' + mm % 10);
    return (int)(o - out);
}

/* ---- rows ---- */

/* 1 if `row` is a row feed() keeps (the checks of commits.parse_rows), 0 if not. */
static int
row_ok(PyObject *row)
{
    if (!PyTuple_CheckExact(row) || PyTuple_GET_SIZE(row) != 8)
        return 0;
    PyObject *oid = PyTuple_GET_ITEM(row, 0);
    if (!PyBytes_CheckExact(oid) || PyBytes_GET_SIZE(oid) != OID_LEN)
        return 0;
    for (int i = 1; i <= 3; i++)
        if (!PyLong_CheckExact(PyTuple_GET_ITEM(row, i)))
            return 0;
    PyObject *parents = PyTuple_GET_ITEM(row, 4);
    if (!PyBytes_CheckExact(parents) || PyBytes_GET_SIZE(parents) % OID_LEN)
        return 0;
    for (int i = 5; i <= 7; i++)
        if (!PyUnicode_CheckExact(PyTuple_GET_ITEM(row, i)))
            return 0;
    return 1;
}

/* ---- the heap: the greatest (lamport, time, id) on top ---- */

static int
above(const Entry *a, const Entry *b)
{
    if (a->lamport != b->lamport)
        return a->lamport > b->lamport;
    if (a->time != b->time)
        return a->time > b->time;
    return memcmp(PyBytes_AS_STRING(a->oid), PyBytes_AS_STRING(b->oid), OID_LEN) > 0;
}

static int
heap_push(Walk *w, Entry e)
{
    if (w->heap_len == w->heap_cap) {
        Py_ssize_t cap = w->heap_cap ? w->heap_cap * 2 : 64;
        Entry *heap = PyMem_Realloc(w->heap, (size_t)cap * sizeof(Entry));
        if (heap == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        w->heap = heap;
        w->heap_cap = cap;
    }
    Py_ssize_t i = w->heap_len++;
    while (i > 0) {
        Py_ssize_t up = (i - 1) / 2;
        if (!above(&e, &w->heap[up]))
            break;
        w->heap[i] = w->heap[up];
        i = up;
    }
    w->heap[i] = e;
    return 0;
}

static Entry
heap_pop(Walk *w)
{
    Entry top = w->heap[0];
    Entry last = w->heap[--w->heap_len];
    Py_ssize_t n = w->heap_len, i = 0;
    while (1) {
        Py_ssize_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && above(&w->heap[c + 1], &w->heap[c]))
            c++;
        if (!above(&w->heap[c], &last))
            break;
        w->heap[i] = w->heap[c];
        i = c;
    }
    if (n)
        w->heap[i] = last;
    return top;
}

/* ---- one entry's text ---- */

static int
as_int64(PyObject *v, int64_t *out)
{
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow || (x == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return -1;
    }
    *out = (int64_t)x;
    return 0;
}

/* 0 written, -1 error, -2 unsure (the buffer as it was). */
static int
emit(Walk *w, Entry *e)
{
    size_t start = w->len;
    PyObject *row = e->row;
    PyObject *parents = PyTuple_GET_ITEM(row, 4);
    PyObject *name = PyTuple_GET_ITEM(row, 5), *email = PyTuple_GET_ITEM(row, 6);
    PyObject *message = PyTuple_GET_ITEM(row, 7);
    const unsigned char *id = (const unsigned char *)PyBytes_AS_STRING(e->oid);
    PyObject *label = PyDict_GetItemWithError(w->labels, e->oid);
    if (label == NULL && PyErr_Occurred())
        return -1;
    if (label != NULL && !PyUnicode_Check(label))
        return -2;
    int r;
    if (w->oneline) {
        if (put_hex(w, id, SHORT_LEN / 2) < 0)
            return -1;
        if (label != NULL) {
            if (PUT_LIT(w, " (") < 0)
                return -1;
            if ((r = put_str(w, label, 0, PyUnicode_GET_LENGTH(label), 1)) < 0)
                goto failed;
            if (PUT_LIT(w, ")") < 0)
                return -1;
        }
        if (PUT_LIT(w, " ") < 0)
            return -1;
        /* The subject (vcrdt.messages.subject): the first paragraph, its lines joined by spaces. */
        int kind = PyUnicode_KIND(message);
        const void *data = PyUnicode_DATA(message);
        Py_ssize_t n = PyUnicode_GET_LENGTH(message), at = 0, stop;
        int first = 1;
        while (1) {
            Py_ssize_t nl = line_end(kind, data, at, n, &stop);
            if (stop > at) {
                if (!first && PUT_LIT(w, " ") < 0)
                    return -1;
                if ((r = put_str(w, message, at, stop, 1)) < 0)
                    goto failed;
                first = 0;
            } else if (!first) {
                break;
            }
            if (nl >= n)
                break;
            at = nl + 1;
        }
        if (PUT_LIT(w, "\n") < 0)
            return -1;
        return 0;
    }
    /* The date first: format_date may raise, and nothing of this entry is written then. */
    char date[64];
    int dlen = 0;
    int64_t tz;
    PyObject *date_text = NULL;
    if (as_int64(PyTuple_GET_ITEM(row, 3), &tz) < 0)
        tz = INT64_MAX; /* for format_date */
    dlen = c_date(e->time, tz, date);
    if (dlen == 0) {
        date_text = PyObject_CallFunctionObjArgs(w->format_date, PyTuple_GET_ITEM(row, 2), PyTuple_GET_ITEM(row, 3),
                                                 NULL);
        if (date_text == NULL)
            return -1;
        if (!PyUnicode_Check(date_text)) {
            Py_DECREF(date_text);
            return -2;
        }
    }
    if (w->shown && PUT_LIT(w, "\n") < 0)
        goto error;
    if (PUT_LIT(w, "commit ") < 0 || put_hex(w, id, OID_LEN) < 0)
        goto error;
    if (label != NULL) {
        if (PUT_LIT(w, " (") < 0)
            goto error;
        if ((r = put_str(w, label, 0, PyUnicode_GET_LENGTH(label), 0)) < 0)
            goto failed_date;
        if (PUT_LIT(w, ")") < 0)
            goto error;
    }
    if (PUT_LIT(w, "\n") < 0)
        goto error;
    Py_ssize_t np = PyBytes_GET_SIZE(parents) / OID_LEN;
    if (np > 1) {
        if (PUT_LIT(w, "Merge:") < 0)
            goto error;
        for (Py_ssize_t i = 0; i < np; i++)
            if (PUT_LIT(w, " ") < 0 ||
                put_hex(w, (const unsigned char *)PyBytes_AS_STRING(parents) + i * OID_LEN, SHORT_LEN / 2) < 0)
                goto error;
        if (PUT_LIT(w, "\n") < 0)
            goto error;
    }
    if (PUT_LIT(w, "Author: ") < 0)
        goto error;
    if ((r = put_str(w, name, 0, PyUnicode_GET_LENGTH(name), 0)) < 0)
        goto failed_date;
    if (PUT_LIT(w, " <") < 0)
        goto error;
    if ((r = put_str(w, email, 0, PyUnicode_GET_LENGTH(email), 0)) < 0)
        goto failed_date;
    if (PUT_LIT(w, ">\nDate:   ") < 0)
        goto error;
    if (date_text != NULL) {
        r = put_str(w, date_text, 0, PyUnicode_GET_LENGTH(date_text), 0);
        Py_CLEAR(date_text);
        if (r < 0)
            goto failed;
    } else if (put_bytes(w, date, (size_t)dlen) < 0) {
        goto error;
    }
    if (PUT_LIT(w, "\n") < 0)
        return -1;
    /* The body (vcrdt.messages.body): from the first line of text to the last, each line
     * right-stripped and indented by four, a blank one too; nothing (no blank line either)
     * for a message without text. */
    int kind = PyUnicode_KIND(message);
    const void *data = PyUnicode_DATA(message);
    Py_ssize_t n = PyUnicode_GET_LENGTH(message), at = 0, stop, nl;
    Py_ssize_t first = -1, last = -1; /* the start of the first line of text, the end of the last */
    while (1) {
        nl = line_end(kind, data, at, n, &stop);
        if (stop > at) {
            if (first < 0)
                first = at;
            last = stop;
        }
        if (nl >= n)
            break;
        at = nl + 1;
    }
    if (first < 0)
        return 0;
    if (PUT_LIT(w, "\n") < 0)
        return -1;
    at = first;
    while (1) {
        nl = line_end(kind, data, at, last, &stop);
        if (PUT_LIT(w, "    ") < 0)
            return -1;
        if (stop > at && (r = put_line(w, message, kind, data, at, stop)) < 0)
            goto failed;
        if (PUT_LIT(w, "\n") < 0)
            return -1;
        if (nl >= last)
            break;
        at = nl + 1;
    }
    return 0;
error:
    Py_XDECREF(date_text);
    return -1;
failed_date:
    Py_XDECREF(date_text);
failed:
    if (r == -2)
        w->len = start;
    return r;
}

/* ---- the walk ---- */

/* The row of `oid` taken from what was fed: a new reference, NULL (no
 * exception) when there is none. */
static PyObject *
take_row(Walk *w, PyObject *oid)
{
    PyObject *row = PyDict_GetItemWithError(w->ahead, oid);
    if (row == NULL)
        return NULL;
    Py_INCREF(row);
    if (PyDict_DelItem(w->ahead, oid) < 0) {
        Py_DECREF(row);
        return NULL;
    }
    return row;
}

static void
clear_pending(Walk *w)
{
    Py_CLEAR(w->pending);
    w->pending_at = 0;
}

static int
set_pending(Walk *w, PyObject *parents)
{
    Py_ssize_t n = PyBytes_GET_SIZE(parents) / OID_LEN;
    if (w->first_parent && n > 1)
        n = 1;
    PyObject *list = PyList_New(n);
    if (list == NULL)
        return -1;
    if (n == 1 && PyBytes_GET_SIZE(parents) == OID_LEN) {
        Py_INCREF(parents);
        PyList_SET_ITEM(list, 0, parents);
    } else {
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *p = PyBytes_FromStringAndSize(PyBytes_AS_STRING(parents) + i * OID_LEN, OID_LEN);
            if (p == NULL) {
                Py_DECREF(list);
                return -1;
            }
            PyList_SET_ITEM(list, i, p);
        }
    }
    Py_XSETREF(w->pending, list);
    w->pending_at = 0;
    return 0;
}

static PyObject *
walk_run(Walk *w, PyObject *Py_UNUSED(ignored))
{
    if (w->unsure)
        Py_RETURN_FALSE;
    if (w->done)
        Py_RETURN_NONE;
    while (1) {
        while (w->pending != NULL && w->pending_at < PyList_GET_SIZE(w->pending)) {
            PyObject *oid = PyList_GET_ITEM(w->pending, w->pending_at);
            int seen = PySet_Contains(w->seen, oid);
            if (seen < 0)
                return NULL;
            if (seen) {
                w->pending_at++;
                continue;
            }
            PyObject *row = take_row(w, oid);
            if (row == NULL) {
                if (PyErr_Occurred())
                    return NULL;
                w->window = w->hits ? (2 * w->window < AHEAD_MAX ? 2 * w->window : AHEAD_MAX) : AHEAD_MIN;
                w->hits = 0;
                Py_INCREF(oid);
                Py_XSETREF(w->need, oid);
                Py_INCREF(oid);
                return oid;
            }
            if (w->need != NULL && PyObject_RichCompareBool(w->need, oid, Py_EQ) == 1)
                Py_CLEAR(w->need); /* the row asked for: not a hit of the window */
            else
                w->hits++;
            if (PyErr_Occurred()) {
                Py_DECREF(row);
                return NULL;
            }
            Entry e;
            if (as_int64(PyTuple_GET_ITEM(row, 1), &e.lamport) < 0 || as_int64(PyTuple_GET_ITEM(row, 2), &e.time) < 0) {
                Py_DECREF(row);
                w->unsure = 1;
                Py_RETURN_FALSE;
            }
            if (PySet_Add(w->seen, oid) < 0) {
                Py_DECREF(row);
                return NULL;
            }
            Py_INCREF(oid);
            e.oid = oid;
            e.row = row;
            if (heap_push(w, e) < 0) {
                Py_DECREF(oid);
                Py_DECREF(row);
                return NULL;
            }
            w->pending_at++;
        }
        clear_pending(w);
        if (w->heap_len == 0) {
            w->done = 1;
            Py_RETURN_NONE;
        }
        Entry e = heap_pop(w);
        int hidden = 0;
        if (w->hidden != NULL) {
            hidden = PySet_Contains(w->hidden, e.oid);
            if (hidden < 0)
                goto failed;
        }
        if (!hidden) {
            if (w->limit >= 0 && w->shown >= w->limit) {
                w->done = 1;
                Py_DECREF(e.oid);
                Py_DECREF(e.row);
                Py_RETURN_NONE;
            }
            int r = emit(w, &e);
            if (r == -1)
                goto failed;
            if (r == -2) {
                w->unsure = 1;
                Py_DECREF(e.oid);
                Py_DECREF(e.row);
                Py_RETURN_FALSE;
            }
            w->shown++;
        }
        if (set_pending(w, PyTuple_GET_ITEM(e.row, 4)) < 0)
            goto failed;
        Py_DECREF(e.oid);
        Py_DECREF(e.row);
        continue;
    failed:
        w->done = 1;
        Py_DECREF(e.oid);
        Py_DECREF(e.row);
        return NULL;
    }
}

static PyObject *
walk_feed(Walk *w, PyObject *args)
{
    PyObject *rows, *oid;
    if (!PyArg_ParseTuple(args, "OO:feed", &rows, &oid))
        return NULL;
    PyObject *seq = PySequence_Fast(rows, "rows must be a sequence");
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    if (PyDict_GET_SIZE(w->ahead) + n > AHEAD_KEEP)
        PyDict_Clear(w->ahead);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *row = PySequence_Fast_GET_ITEM(seq, i);
        if (!row_ok(row))
            continue;
        if (PyDict_SetItem(w->ahead, PyTuple_GET_ITEM(row, 0), row) < 0) {
            Py_DECREF(seq);
            return NULL;
        }
    }
    Py_DECREF(seq);
    int has = PyDict_Contains(w->ahead, oid);
    if (has < 0)
        return NULL;
    return PyBool_FromLong(has);
}

static PyObject *
walk_put(Walk *w, PyObject *row)
{
    if (!row_ok(row))
        Py_RETURN_FALSE;
    if (PyDict_SetItem(w->ahead, PyTuple_GET_ITEM(row, 0), row) < 0)
        return NULL;
    Py_RETURN_TRUE;
}

static PyObject *
walk_take(Walk *w, PyObject *Py_UNUSED(ignored))
{
    PyObject *text = PyUnicode_DecodeUTF8(w->buf, (Py_ssize_t)w->len, "strict");
    if (text != NULL)
        w->len = 0;
    return text;
}

static PyObject *
walk_shown(Walk *w, void *Py_UNUSED(closure))
{
    return PyLong_FromLongLong(w->shown);
}

static PyObject *
walk_window(Walk *w, void *Py_UNUSED(closure))
{
    return PyLong_FromLong(w->window);
}

static PyObject *
walk_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"heads", "hidden", "labels", "limit", "first_parent", "oneline", "format_date", NULL};
    PyObject *heads, *hidden, *labels, *format_date;
    long long limit;
    int first_parent, oneline;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOO!LppO", kwlist, &heads, &hidden, &PyDict_Type, &labels, &limit,
                                     &first_parent, &oneline, &format_date))
        return NULL;
    if (hidden != Py_None && !PyAnySet_Check(hidden)) {
        PyErr_SetString(PyExc_TypeError, "hidden must be a set or None");
        return NULL;
    }
    Walk *w = (Walk *)type->tp_alloc(type, 0);
    if (w == NULL)
        return NULL;
    w->pending = PySequence_List(heads);
    w->ahead = PyDict_New();
    w->seen = PySet_New(NULL);
    if (w->pending == NULL || w->ahead == NULL || w->seen == NULL) {
        Py_DECREF(w);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(w->pending); i++) {
        PyObject *h = PyList_GET_ITEM(w->pending, i);
        if (!PyBytes_Check(h) || PyBytes_GET_SIZE(h) != OID_LEN) {
            PyErr_SetString(PyExc_TypeError, "heads must be ids");
            Py_DECREF(w);
            return NULL;
        }
    }
    if (hidden != Py_None) {
        Py_INCREF(hidden);
        w->hidden = hidden;
    }
    Py_INCREF(labels);
    w->labels = labels;
    Py_INCREF(format_date);
    w->format_date = format_date;
    w->limit = limit < 0 ? -1 : limit;
    w->first_parent = first_parent;
    w->oneline = oneline;
    w->window = AHEAD_MIN;
    return (PyObject *)w;
}

static int
walk_traverse(Walk *w, visitproc visit, void *arg)
{
    Py_VISIT(w->hidden);
    Py_VISIT(w->labels);
    Py_VISIT(w->format_date);
    Py_VISIT(w->ahead);
    Py_VISIT(w->seen);
    Py_VISIT(w->pending);
    Py_VISIT(w->need);
    for (Py_ssize_t i = 0; i < w->heap_len; i++) {
        Py_VISIT(w->heap[i].oid);
        Py_VISIT(w->heap[i].row);
    }
    return 0;
}

static int
walk_clear(Walk *w)
{
    Py_CLEAR(w->hidden);
    Py_CLEAR(w->labels);
    Py_CLEAR(w->format_date);
    Py_CLEAR(w->ahead);
    Py_CLEAR(w->seen);
    Py_CLEAR(w->pending);
    Py_CLEAR(w->need);
    Py_ssize_t n = w->heap_len;
    w->heap_len = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_CLEAR(w->heap[i].oid);
        Py_CLEAR(w->heap[i].row);
    }
    return 0;
}

static void
walk_dealloc(Walk *w)
{
    PyObject_GC_UnTrack(w);
    walk_clear(w);
    PyMem_Free(w->heap);
    PyMem_Free(w->buf);
    Py_TYPE(w)->tp_free((PyObject *)w);
}

static PyMethodDef walk_methods[] = {
    {"run", (PyCFunction)walk_run, METH_NOARGS, "Walk on: None when over, the id whose row is needed, or False."},
    {"feed", (PyCFunction)walk_feed, METH_VARARGS, "feed(rows, oid): keep the well-formed rows; tell whether oid has one."},
    {"put", (PyCFunction)walk_put, METH_O, "Keep one row made from a commit object; False if malformed."},
    {"take", (PyCFunction)walk_take, METH_NOARGS, "Return the text made since the last take()."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef walk_getset[] = {
    {"shown", (getter)walk_shown, NULL, "Entries written so far.", NULL},
    {"window", (getter)walk_window, NULL, "How many rows to read before the id run() asked for.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject WalkType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "vcrdt.porcelain._logtext.LogWalk",
    .tp_basicsize = sizeof(Walk),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "log's walk over the commit table and its uncoloured text (see the module's docstring).",
    .tp_new = walk_new,
    .tp_dealloc = (destructor)walk_dealloc,
    .tp_traverse = (traverseproc)walk_traverse,
    .tp_clear = (inquiry)walk_clear,
    .tp_methods = walk_methods,
    .tp_getset = walk_getset,
};

static struct PyModuleDef module = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "vcrdt.porcelain._logtext",
    .m_doc = "log's walk and uncoloured text in C (the twin of vcrdt.porcelain.logtext).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__logtext(void)
{
    if (PyType_Ready(&WalkType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&WalkType);
    if (PyModule_AddObject(m, "LogWalk", (PyObject *)&WalkType) < 0) {
        Py_DECREF(&WalkType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
