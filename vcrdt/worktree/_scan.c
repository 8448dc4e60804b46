/*
 * vcrdt.worktree._scan: the hot loop of the work-tree walk, in C.
 *
 * One function, settle_dir(), reads one directory and settles the entries
 * that need no Python: a tracked file (its path is a key of `missing`) that
 * is not a directory and, when `compare` is true, whose lstat equals its
 * cached stat.  Those are removed from `missing`; nothing else is built for
 * them.  Every other entry's name is returned for vcrdt.worktree.scan to
 * classify in Python (untracked files, directories, vcrdt's temporary files,
 * tracked files whose stat differs or cannot be read), which lstats it again
 * itself.  So this module only ever decides "settled", and only where the
 * pure-Python settle_dir in scan.py decides the same (a property test holds
 * the two walks equal); everything else about the walk stays in one place.
 *
 * settle_dir(path, prefix, missing, compare) -> (others, linked)
 *   path     the directory (str or bytes), opened as os.scandir opens it
 *   prefix   "" or the directory's repository path plus "/"
 *   missing  dict: tracked path -> None or a row (path, size, mtime_ns, ino,
 *            ctime_ns, ...) as settle_keys() returns it
 *   compare  true: settle only a tracked file whose lstat matches its row
 *            (a None row never matches); false: settle every tracked entry
 *            that is not a directory (its type from the directory entry),
 *            without an lstat, and an entry whose type cannot be read
 *   others   the names (str, decoded as os.fsdecode does) left to Python
 *   linked   the repository paths of settled files with more than one link
 * Raises OSError when the directory cannot be opened or read.
 * A row that is SETTLED or SETTLED_LINKED (the module's two markers, put
 * there by preload()) settles its entry without an lstat unless the entry is
 * a directory; SETTLED_LINKED also lists its path in `linked`.
 *
 * preload(root, missing, threads) -> int: the lstats of settle_dir, made
 * beforehand on `threads` threads with the GIL released, as git's
 * preload-index does, so that they overlap on several CPUs.  Each tracked
 * path whose row is a tuple (not None, not a marker, its name not
 * temporary-file-like) is lstat'ed (root + "/" + path: by its name in its
 * directory, each directory opened once per run of its files); when
 * the stat matches the row and is not a directory, the row is replaced by
 * SETTLED (SETTLED_LINKED with more than one link).  Nothing else changes:
 * the walk still reads every directory and settles only the entries it meets
 * there, so a path below a symlink or a file is still not found.  Returns the
 * number of rows replaced.
 *
 * pack_keys(keys) -> bytes and unpack_keys(data) -> dict: the stat-cache
 * pack (`vcrdt.worktree.rows`) made from and read back into settle_keys()'s
 * dict, each in one pass:
 *   "vsp1", then per path: u32 length (little-endian), u8 settled (0 or 1),
 *   the path's bytes, and when settled four i64 (size, mtime_ns, ino,
 *   ctime_ns), little-endian.  Each path maps to None or to the tuple
 *   (path bytes, size, mtime_ns, ino, ctime_ns, 1).  Every length is checked
 *   against what is left of the buffer; anything malformed raises ValueError
 *   (the caller then reads the rows instead).
 *
 * No fixed-size buffers: names come from readdir (NUL-terminated, length
 * from strlen) and go straight into Python strings.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <dirent.h>
#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The markers preload() puts in place of a row whose stat matched (see the top). */
static PyObject *SETTLED, *SETTLED_LINKED;

/* mtime/ctime in nanoseconds as Python's st_mtime_ns computes them; 0 when out of int64 range. */
static int
time_ns(const struct timespec *ts, long long *out)
{
    if (ts->tv_sec > 9000000000LL || ts->tv_sec < -9000000000LL)
        return 0;
    *out = (long long)ts->tv_sec * 1000000000LL + (long long)ts->tv_nsec;
    return 1;
}

static int
item_ll(PyObject *row, Py_ssize_t i, long long *out)
{
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(PyTuple_GET_ITEM(row, i), &overflow);
    if (overflow || (v == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 0;
    }
    *out = v;
    return 1;
}

/* 1 when the row's (size, mtime_ns, ino, ctime_ns) equal the lstat's; 0 otherwise, never an error. */
static int
row_matches(PyObject *row, const struct stat *st)
{
    long long size, mtime, ctime, disk_mtime, disk_ctime;
    unsigned long long ino;

    if (!PyTuple_Check(row) || PyTuple_GET_SIZE(row) < 5)
        return 0;
    if (!item_ll(row, 1, &size) || !item_ll(row, 2, &mtime) || !item_ll(row, 4, &ctime))
        return 0;
    if (!PyLong_Check(PyTuple_GET_ITEM(row, 3)))
        return 0;
    ino = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(row, 3));
    if (ino == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    if (!time_ns(&st->st_mtim, &disk_mtime) || !time_ns(&st->st_ctim, &disk_ctime))
        return 0;
    return size == (long long)st->st_size && mtime == disk_mtime && ino == (unsigned long long)st->st_ino &&
           ctime == disk_ctime;
}

static int
is_temp_like(const char *name, size_t len)
{
    return len >= 4 && name[0] == '.' && memcmp(name + len - 4, ".tmp", 4) == 0;
}

/* Settle one entry or leave it to Python; -1 on a Python error. */
static int
visit(int dfd, const struct dirent *e, PyObject *prefix, PyObject *missing, int compare, PyObject *others,
      PyObject *linked)
{
    const char *name = e->d_name;
    size_t len = strlen(name);
    PyObject *pyname, *rel, *row;
    struct stat st;
    int settled = 0, link = 0, rc = -1;

    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return 0;
    pyname = PyUnicode_DecodeFSDefaultAndSize(name, (Py_ssize_t)len);
    if (pyname == NULL)
        return -1;
    if (is_temp_like(name, len))
        goto other;  /* perhaps one of vcrdt's temporary files: scan.py decides */
    rel = PyUnicode_Concat(prefix, pyname);
    if (rel == NULL)
        goto done;
    row = PyDict_GetItemWithError(missing, rel);  /* borrowed */
    if (row == NULL && PyErr_Occurred()) {
        Py_DECREF(rel);
        goto done;
    }
    if (row != NULL) {
        if (compare && (row == SETTLED || row == SETTLED_LINKED)) {
            /* preload() has stat'ed it: it matched and was no directory (the entry's type agrees, or is unknown) */
            settled = e->d_type != DT_DIR;
            link = row == SETTLED_LINKED;
        } else if (compare) {
            settled = row != Py_None && fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                      !S_ISDIR(st.st_mode) && row_matches(row, &st);
            link = settled && st.st_nlink > 1;
        } else if (e->d_type == DT_UNKNOWN) {
            /* as DirEntry.is_dir(follow_symlinks=False): an unreadable type counts as "not a directory" */
            settled = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode);
        } else {
            settled = e->d_type != DT_DIR;
        }
    }
    if (settled) {
        if (PyDict_DelItem(missing, rel) < 0 || (link && PyList_Append(linked, rel) < 0)) {
            Py_DECREF(rel);
            goto done;
        }
        Py_DECREF(rel);
        rc = 0;
        goto done;
    }
    Py_DECREF(rel);
other:
    rc = PyList_Append(others, pyname);
done:
    Py_DECREF(pyname);
    return rc;
}

static PyObject *
settle_dir(PyObject *self, PyObject *args)
{
    PyObject *path = NULL, *prefix, *missing, *others = NULL, *linked = NULL, *result = NULL;
    int compare, fd;
    DIR *dir;
    struct dirent *e;

    (void)self;
    if (!PyArg_ParseTuple(args, "O&UO!p:settle_dir", PyUnicode_FSConverter, &path, &prefix, &PyDict_Type,
                          &missing, &compare))
        return NULL;
    fd = open(PyBytes_AS_STRING(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
        if (fd >= 0)
            close(fd);
        Py_DECREF(path);
        return NULL;
    }
    others = PyList_New(0);
    linked = PyList_New(0);
    if (others == NULL || linked == NULL)
        goto done;
    for (;;) {
        errno = 0;
        e = readdir(dir);
        if (e == NULL) {
            if (errno != 0) {
                PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
                goto done;
            }
            break;
        }
        if (visit(dirfd(dir), e, prefix, missing, compare, others, linked) < 0)
            goto done;
    }
    result = PyTuple_Pack(2, others, linked);
done:
    closedir(dir);  /* closes fd */
    Py_XDECREF(others);
    Py_XDECREF(linked);
    Py_DECREF(path);
    return result;
}

static long long
read_i64(const unsigned char *p)
{
    unsigned long long v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return (long long)v;  /* two's complement, as Python's struct "<q" */
}

static PyObject *
unpack_keys(PyObject *self, PyObject *arg)
{
    Py_buffer view;
    PyObject *out = NULL, *path = NULL, *raw = NULL, *key = NULL;
    const unsigned char *p, *end;

    (void)self;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0)
        return NULL;
    p = view.buf;
    end = p + view.len;
    if (view.len < 4 || memcmp(p, "vsp1", 4) != 0) {
        PyErr_SetString(PyExc_ValueError, "not a stat-cache pack");
        goto fail;
    }
    p += 4;
    out = PyDict_New();
    if (out == NULL)
        goto fail;
    while (p < end) {
        size_t len, need;
        int settled;
        if ((size_t)(end - p) < 5)
            goto bad;
        len = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
        settled = p[4];
        if (settled != 0 && settled != 1)
            goto bad;
        p += 5;
        need = len + (settled ? 32 : 0);
        if ((size_t)(end - p) < need)
            goto bad;
        path = PyUnicode_DecodeUTF8((const char *)p, (Py_ssize_t)len, "surrogateescape");
        if (path == NULL)
            goto fail;
        if (settled) {
            raw = PyBytes_FromStringAndSize((const char *)p, (Py_ssize_t)len);
            if (raw == NULL)
                goto fail;
            p += len;
            key = PyTuple_New(6);
            if (key == NULL)
                goto fail;
            PyTuple_SET_ITEM(key, 0, raw);  /* steals it */
            raw = NULL;
            for (Py_ssize_t i = 0; i < 4; i++) {
                PyObject *v = PyLong_FromLongLong(read_i64(p + 8 * i));
                if (v == NULL)
                    goto fail;
                PyTuple_SET_ITEM(key, i + 1, v);
            }
            PyTuple_SET_ITEM(key, 5, PyLong_FromLong(1));  /* a cached small int: cannot fail */
            /* Bytes and ints only: the tuple can be part of no cycle, so the collector need not
             * track it (it would untrack it on its first pass anyway, after walking it). */
            PyObject_GC_UnTrack(key);
            p += 32;
        } else {
            p += len;
            key = Py_NewRef(Py_None);
        }
        if (PyDict_SetItem(out, path, key) < 0)
            goto fail;
        Py_CLEAR(path);
        Py_CLEAR(key);
    }
    PyBuffer_Release(&view);
    return out;
bad:
    PyErr_SetString(PyExc_ValueError, "damaged stat-cache pack");
fail:
    Py_XDECREF(path);
    Py_XDECREF(raw);
    Py_XDECREF(key);
    Py_XDECREF(out);
    PyBuffer_Release(&view);
    return NULL;
}

static void
write_i64(unsigned char *p, long long value)
{
    unsigned long long v = (unsigned long long)value;
    for (int i = 0; i < 8; i++, v >>= 8)
        p[i] = (unsigned char)(v & 0xff);
}

/* One entry's bytes: its encoded path (`*data`, `*len`; `*raw` holds them when the path had to be
 * encoded, NULL when an ASCII str lends its own buffer) and, when settled, its four numbers. */
static int
pack_entry(PyObject *path, PyObject *key, PyObject **raw, const char **data, Py_ssize_t *len, long long nums[4])
{
    *raw = NULL;
    if (PyUnicode_IS_ASCII(path)) {  /* its UTF-8 form is its own bytes: nothing to encode or allocate */
        *data = (const char *)PyUnicode_DATA(path);
        *len = PyUnicode_GET_LENGTH(path);
    } else {
        *raw = PyUnicode_AsEncodedString(path, "utf-8", "surrogateescape");
        if (*raw == NULL)
            return -1;
        *data = PyBytes_AS_STRING(*raw);
        *len = PyBytes_GET_SIZE(*raw);
    }
    if (*len > 0xffffffffLL) {
        PyErr_SetString(PyExc_ValueError, "path too long for a stat-cache pack");
        goto fail;
    }
    if (key == Py_None)
        return 0;
    if (!PyTuple_Check(key) || PyTuple_GET_SIZE(key) < 5) {
        PyErr_SetString(PyExc_TypeError, "a stat-cache key is None or (path, size, mtime_ns, ino, ctime_ns, ...)");
        goto fail;
    }
    for (Py_ssize_t i = 0; i < 4; i++) {
        nums[i] = PyLong_AsLongLong(PyTuple_GET_ITEM(key, i + 1));
        if (nums[i] == -1 && PyErr_Occurred())
            goto fail;
    }
    return 0;
fail:
    Py_CLEAR(*raw);
    return -1;
}

static PyObject *
pack_keys(PyObject *self, PyObject *keys)
{
    PyObject *path, *key, *raw, *out;
    const char *data;
    Py_ssize_t len, pos = 0, total = 4;
    unsigned char *p, *end;
    long long nums[4];

    (void)self;
    if (!PyDict_Check(keys)) {
        PyErr_SetString(PyExc_TypeError, "pack_keys() takes a dict");
        return NULL;
    }
    /* First pass: the size (and every error, before anything is written). */
    while (PyDict_Next(keys, &pos, &path, &key)) {
        if (!PyUnicode_Check(path)) {
            PyErr_SetString(PyExc_TypeError, "stat-cache paths are str");
            return NULL;
        }
        if (pack_entry(path, key, &raw, &data, &len, nums) < 0)
            return NULL;
        total += 5 + len + (key == Py_None ? 0 : 32);
        Py_XDECREF(raw);
        if (total < 0 || total > PY_SSIZE_T_MAX / 2) {
            PyErr_NoMemory();
            return NULL;
        }
    }
    out = PyBytes_FromStringAndSize(NULL, total);
    if (out == NULL)
        return NULL;
    p = (unsigned char *)PyBytes_AS_STRING(out);
    end = p + total;
    memcpy(p, "vsp1", 4);
    p += 4;
    pos = 0;
    while (PyDict_Next(keys, &pos, &path, &key)) {
        Py_ssize_t need;
        if (!PyUnicode_Check(path)) {  /* the dict changed between the passes */
            PyErr_SetString(PyExc_RuntimeError, "stat-cache keys changed while being packed");
            goto fail;
        }
        if (pack_entry(path, key, &raw, &data, &len, nums) < 0)
            goto fail;
        need = 5 + len + (key == Py_None ? 0 : 32);
        if (end - p < need) {  /* the dict changed between the passes */
            Py_XDECREF(raw);
            PyErr_SetString(PyExc_RuntimeError, "stat-cache keys changed while being packed");
            goto fail;
        }
        p[0] = (unsigned char)(len & 0xff);
        p[1] = (unsigned char)((len >> 8) & 0xff);
        p[2] = (unsigned char)((len >> 16) & 0xff);
        p[3] = (unsigned char)((len >> 24) & 0xff);
        p[4] = key == Py_None ? 0 : 1;
        memcpy(p + 5, data, (size_t)len);
        p += 5 + len;
        Py_XDECREF(raw);
        if (key != Py_None) {
            for (int i = 0; i < 4; i++)
                write_i64(p + 8 * i, nums[i]);
            p += 32;
        }
    }
    if (p != end) {
        PyErr_SetString(PyExc_RuntimeError, "stat-cache keys changed while being packed");
        goto fail;
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

/* One changed path for patch_keys(): its bytes (as pack_entry gives them) and its new key. */
struct patch_item {
    PyObject *raw;
    const char *data;
    Py_ssize_t len;
    long long nums[4];
    int settled;  /* the new key is a stat (1) or None (0) */
    int inplace;  /* it replaces an entry where that entry stood */
};

static int
same_path(const struct patch_item *items, Py_ssize_t n, const unsigned char *path, size_t len)
{
    for (Py_ssize_t i = 0; i < n; i++)
        if ((size_t)items[i].len == len && memcmp(items[i].data, path, len) == 0)
            return (int)i;
    return -1;
}

static unsigned char *
put_entry(unsigned char *p, const char *path, size_t len, int settled, const long long nums[4],
          const unsigned char *stat_bytes)
{
    p[0] = (unsigned char)(len & 0xff);
    p[1] = (unsigned char)((len >> 8) & 0xff);
    p[2] = (unsigned char)((len >> 16) & 0xff);
    p[3] = (unsigned char)((len >> 24) & 0xff);
    p[4] = settled ? 1 : 0;
    memcpy(p + 5, path, len);
    p += 5 + len;
    if (settled) {
        if (stat_bytes != NULL)
            memcpy(p, stat_bytes, 32);
        else
            for (int i = 0; i < 4; i++)
                write_i64(p + 8 * i, nums[i]);
        p += 32;
    }
    return p;
}

/* patch_keys(data, drop, changes) -> bytes: what pack_keys() makes of unpack_keys(data) after
 * popping each path of `drop` and then setting each of `changes` (path -> key or None): an entry
 * kept in place, a changed one rewritten where it stood, a new (or dropped and set again) one
 * appended in `changes`' order.  Copies the untouched entries' bytes without building a key for
 * any; ValueError when `data` is not a well-formed pack. */
static PyObject *
patch_keys(PyObject *self, PyObject *args)
{
    Py_buffer view;
    PyObject *drop, *changes, *path, *key, *out = NULL;
    struct patch_item *dropped = NULL, *changed = NULL;
    Py_ssize_t n_drop = 0, n_changed = 0, pos = 0, total = 4;
    int pass;

    (void)self;
    if (!PyArg_ParseTuple(args, "y*O!O!:patch_keys", &view, &PyList_Type, &drop, &PyDict_Type, &changes))
        return NULL;
    dropped = PyMem_Calloc((size_t)PyList_GET_SIZE(drop) + 1, sizeof(struct patch_item));
    changed = PyMem_Calloc((size_t)PyDict_GET_SIZE(changes) + 1, sizeof(struct patch_item));
    if (dropped == NULL || changed == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(drop); i++) {
        struct patch_item *it = &dropped[n_drop];
        path = PyList_GET_ITEM(drop, i);
        if (!PyUnicode_Check(path)) {
            PyErr_SetString(PyExc_TypeError, "stat-cache paths are str");
            goto done;
        }
        if (pack_entry(path, Py_None, &it->raw, &it->data, &it->len, it->nums) < 0)
            goto done;
        n_drop++;
    }
    while (PyDict_Next(changes, &pos, &path, &key)) {
        struct patch_item *it = &changed[n_changed];
        if (!PyUnicode_Check(path)) {
            PyErr_SetString(PyExc_TypeError, "stat-cache paths are str");
            goto done;
        }
        if (pack_entry(path, key, &it->raw, &it->data, &it->len, it->nums) < 0)
            goto done;
        it->settled = key != Py_None;
        n_changed++;
    }
    /* Pass 0 checks the pack and sizes the result; pass 1 writes it. */
    for (pass = 0; pass < 2; pass++) {
        const unsigned char *p = (const unsigned char *)view.buf + 4, *end = (const unsigned char *)view.buf + view.len;
        unsigned char *w = NULL, *wend = NULL;
        if (pass == 0 && (view.len < 4 || memcmp(view.buf, "vsp1", 4) != 0)) {
            PyErr_SetString(PyExc_ValueError, "not a stat-cache pack");
            goto done;
        }
        if (pass == 1) {
            out = PyBytes_FromStringAndSize(NULL, total);
            if (out == NULL)
                goto done;
            w = (unsigned char *)PyBytes_AS_STRING(out);
            wend = w + total;
            memcpy(w, "vsp1", 4);
            w += 4;
        }
        while (p < end) {
            size_t len;
            int settled, c;
            if ((size_t)(end - p) < 5)
                goto bad;
            len = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
            settled = p[4];
            if ((settled != 0 && settled != 1) || (size_t)(end - p - 5) < len + (settled ? 32 : 0))
                goto bad;
            if (same_path(dropped, n_drop, p + 5, len) >= 0) {
                p += 5 + len + (settled ? 32 : 0);
                continue;
            }
            c = same_path(changed, n_changed, p + 5, len);
            if (c >= 0) {
                changed[c].inplace = 1;
                if (pass == 0)
                    total += 5 + (Py_ssize_t)len + (changed[c].settled ? 32 : 0);
                else
                    w = put_entry(w, changed[c].data, len, changed[c].settled, changed[c].nums, NULL);
            } else if (pass == 0) {
                total += 5 + (Py_ssize_t)len + (settled ? 32 : 0);
            } else {
                w = put_entry(w, (const char *)p + 5, len, settled, NULL, p + 5 + len);
            }
            p += 5 + len + (settled ? 32 : 0);
        }
        for (Py_ssize_t i = 0; i < n_changed; i++) {
            if (changed[i].inplace)
                continue;
            if (pass == 0)
                total += 5 + changed[i].len + (changed[i].settled ? 32 : 0);
            else
                w = put_entry(w, changed[i].data, (size_t)changed[i].len, changed[i].settled, changed[i].nums, NULL);
        }
        if (pass == 1 && w != wend) {
            PyErr_SetString(PyExc_RuntimeError, "stat-cache pack changed while being patched");
            Py_CLEAR(out);
            goto done;
        }
        if (pass == 0)
            for (Py_ssize_t i = 0; i < n_changed; i++)
                changed[i].inplace = 0;
    }
    goto done;
bad:
    PyErr_SetString(PyExc_ValueError, "damaged stat-cache pack");
done:
    for (Py_ssize_t i = 0; i < n_drop; i++)
        Py_XDECREF(dropped[i].raw);
    for (Py_ssize_t i = 0; i < n_changed; i++)
        Py_XDECREF(changed[i].raw);
    PyMem_Free(dropped);
    PyMem_Free(changed);
    PyBuffer_Release(&view);
    return out;
}


/* One path for preload(): where its full path starts in the shared buffer, its row's numbers, the verdict. */
struct pre_item {
    size_t at;    /* the full path: buf + at */
    size_t name;  /* its last component: buf + at + name (the directory is what comes before) */
    long long size, mtime, ctime;
    unsigned long long ino;
    int verdict;  /* 0: leave the row; 1: SETTLED; 2: SETTLED_LINKED */
};

struct pre_job {
    struct pre_item *items;
    char *buf;
    Py_ssize_t lo, hi;
};

/* Stat each item of the job's range: by its name in its directory, opened once for a run of items in
 * the same directory (the rows come sorted by path, so a directory's files are together), or by the
 * full path when the directory cannot be opened. */
static void *
preload_range(void *arg)
{
    struct pre_job *job = arg;
    struct stat st;
    long long mtime, ctime;
    int dfd = -1;
    const char *dir = NULL;
    size_t dirlen = 0;

    for (Py_ssize_t i = job->lo; i < job->hi; i++) {
        struct pre_item *it = &job->items[i];
        char *path = job->buf + it->at;
        size_t len = it->name > 0 ? it->name - 1 : 0;  /* the directory's length, without the slash */
        int rc;

        it->verdict = 0;
        if (dir == NULL || len != dirlen || memcmp(dir, path, len) != 0) {
            if (dfd >= 0)
                close(dfd);
            path[len] = '\0';  /* the slash before the name, for the open */
            dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            path[len] = '/';
            dir = path;
            dirlen = len;
        }
        rc = dfd >= 0 ? fstatat(dfd, path + it->name, &st, AT_SYMLINK_NOFOLLOW) : lstat(path, &st);
        if (rc != 0 || S_ISDIR(st.st_mode))
            continue;
        if (!time_ns(&st.st_mtim, &mtime) || !time_ns(&st.st_ctim, &ctime))
            continue;
        if (it->size == (long long)st.st_size && it->mtime == mtime && it->ino == (unsigned long long)st.st_ino &&
            it->ctime == ctime)
            it->verdict = st.st_nlink > 1 ? 2 : 1;
    }
    if (dfd >= 0)
        close(dfd);
    return NULL;
}

/* The row's (size, mtime_ns, ino, ctime_ns) into `it`; 0 when the row is not one settle_dir could match. */
static int
row_numbers(PyObject *row, struct pre_item *it)
{
    if (!PyTuple_Check(row) || PyTuple_GET_SIZE(row) < 5 || row == SETTLED || row == SETTLED_LINKED)
        return 0;
    if (!item_ll(row, 1, &it->size) || !item_ll(row, 2, &it->mtime) || !item_ll(row, 4, &it->ctime))
        return 0;
    if (!PyLong_Check(PyTuple_GET_ITEM(row, 3)))
        return 0;
    it->ino = PyLong_AsUnsignedLongLong(PyTuple_GET_ITEM(row, 3));
    if (it->ino == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return 1;
}

#define PRELOAD_MAX_THREADS 16

static PyObject *
preload(PyObject *self, PyObject *args)
{
    PyObject *root = NULL, *missing, *path, *row, **keys = NULL, *result = NULL;
    struct pre_item *items = NULL;
    char *buf = NULL;
    size_t cap = 0, used = 0, rootlen;
    Py_ssize_t pos = 0, n = 0, size, marked = 0;
    int threads;
    pthread_t tids[PRELOAD_MAX_THREADS];
    struct pre_job jobs[PRELOAD_MAX_THREADS];
    int started[PRELOAD_MAX_THREADS] = {0};

    (void)self;
    if (!PyArg_ParseTuple(args, "O&O!i:preload", PyUnicode_FSConverter, &root, &PyDict_Type, &missing, &threads))
        return NULL;
    if (threads < 1)
        threads = 1;
    if (threads > PRELOAD_MAX_THREADS)
        threads = PRELOAD_MAX_THREADS;
    rootlen = (size_t)PyBytes_GET_SIZE(root);
    size = PyDict_GET_SIZE(missing);
    keys = PyMem_Calloc((size_t)size + 1, sizeof(PyObject *));
    items = PyMem_Calloc((size_t)size + 1, sizeof(struct pre_item));
    if (keys == NULL || items == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    while (PyDict_Next(missing, &pos, &path, &row) && n < size) {
        const char *data;
        Py_ssize_t len;
        PyObject *raw = NULL;
        const char *name;

        if (!PyUnicode_Check(path) || !row_numbers(row, &items[n]))
            continue;
        if (PyUnicode_IS_ASCII(path)) {
            data = (const char *)PyUnicode_DATA(path);
            len = PyUnicode_GET_LENGTH(path);
        } else {
            raw = PyUnicode_EncodeFSDefault(path);
            if (raw == NULL) {
                PyErr_Clear();  /* not a name the walk can meet: leave it to the walk */
                continue;
            }
            data = PyBytes_AS_STRING(raw);
            len = PyBytes_GET_SIZE(raw);
        }
        name = data + len;
        while (name > data && name[-1] != '/')
            name--;
        if (len == 0 || memchr(data, '\0', (size_t)len) != NULL ||
            is_temp_like(name, (size_t)(data + len - name))) {
            Py_XDECREF(raw);
            continue;
        }
        if (used + rootlen + (size_t)len + 2 > cap) {
            size_t want = (cap ? cap * 2 : 4096) + rootlen + (size_t)len + 2;
            char *grown = PyMem_Realloc(buf, want);
            if (grown == NULL) {
                Py_XDECREF(raw);
                PyErr_NoMemory();
                goto done;
            }
            buf = grown;
            cap = want;
        }
        items[n].at = used;
        items[n].name = rootlen + 1 + (size_t)(name - data);
        memcpy(buf + used, PyBytes_AS_STRING(root), rootlen);
        buf[used + rootlen] = '/';
        memcpy(buf + used + rootlen + 1, data, (size_t)len);
        buf[used + rootlen + 1 + (size_t)len] = '\0';
        used += rootlen + (size_t)len + 2;
        Py_XDECREF(raw);
        keys[n++] = Py_NewRef(path);
    }
    if (threads > n / 64 + 1)
        threads = (int)(n / 64 + 1);  /* a thread for fewer paths costs more than it saves */
    Py_BEGIN_ALLOW_THREADS
    for (int t = 0; t < threads; t++) {
        jobs[t].items = items;
        jobs[t].buf = buf;
        jobs[t].lo = n * t / threads;
        jobs[t].hi = n * (t + 1) / threads;
        if (t > 0)
            started[t] = pthread_create(&tids[t], NULL, preload_range, &jobs[t]) == 0;
    }
    preload_range(&jobs[0]);
    for (int t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(tids[t], NULL);
        else
            preload_range(&jobs[t]);  /* no thread to be had: do its share here */
    }
    Py_END_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        if (items[i].verdict == 0)
            continue;
        if (PyDict_SetItem(missing, keys[i], items[i].verdict == 2 ? SETTLED_LINKED : SETTLED) < 0)
            goto done;
        marked++;
    }
    result = PyLong_FromSsize_t(marked);
done:
    if (keys != NULL)
        for (Py_ssize_t i = 0; i < n; i++)
            Py_DECREF(keys[i]);
    PyMem_Free(keys);
    PyMem_Free(items);
    PyMem_Free(buf);
    Py_DECREF(root);
    return result;
}


/* ---------------------------------------------------------------------------------------------
 * PackIndex: a stat-cache pack read into C arrays, for a status's walk without a Python object
 * per tracked path.
 *
 * PackIndex(data) parses the pack (as unpack_keys does; ValueError when it is damaged; a path
 * given twice keeps its last entry, as unpack_keys's dict does) and hashes its paths' bytes.
 *   len(ix)                 the number of paths
 *   ix.pending()            the paths whose key is None (their rows are read whole), as str
 *   ix.preload(root, threads) -> int
 *                           preload() of every path with a stat: on `threads` threads, each
 *                           lstat compared with the entry in C; the matching ones (not
 *                           directories) are marked settled (and linked with more than one
 *                           link).  Forgets what an earlier walk met.  Returns how many matched.
 *   ix.rest() -> dict       every path not marked, with the key unpack_keys gives it: the walk's
 *                           `missing` for what Python still has to look at
 *   ix.settle_dir(path, prefix, missing, compare) -> (others, linked)
 *                           settle_dir() over the marked paths first: a directory entry whose
 *                           path is marked settles with no Python object made (unless it is a
 *                           directory now: it is then put in `missing` with None and returned
 *                           among the others); every other entry goes through visit() as
 *                           settle_dir() does with `missing`
 *   ix.unmet() -> list      the marked paths no settle_dir() met (below a symlink, ...): not
 *                           found by the walk, so not settled
 *   ix.mark_all()           mark every path, for a walk without `compare` (settle_dir() then settles
 *                           every tracked entry that is not a directory, as it does without
 *                           `compare`, with `missing` empty); forgets what an earlier walk met
 * ------------------------------------------------------------------------------------------- */

struct ix_entry {
    Py_ssize_t at, len;  /* the path: data + at, len bytes */
    long long size, mtime, ctime;
    unsigned long long ino;
    int settled;  /* the pack's flag: a stat (1) or None (0) */
    int live;     /* 0 when a later entry has the same path */
    int verdict;  /* preload: 0 not marked, 1 settled, 2 settled and linked */
    int met;      /* a settle_dir() met it */
};

typedef struct {
    PyObject_HEAD
    PyObject *data;  /* the pack's bytes (a bytes object, kept) */
    struct ix_entry *entries;
    Py_ssize_t n, live;
    Py_ssize_t *slots;  /* open addressing: entry index + 1, 0 empty */
    size_t mask;
} PackIndex;

/* Python's own hash of bytes (SipHash, keyed per process, as a dict's): a repository's paths come
 * from its history, which a hostile peer writes, and an unkeyed hash would let it pick names that
 * all land in one chain, making every lookup a walk over the whole table. */
static size_t
ix_hash(const unsigned char *p, Py_ssize_t len)
{
#if PY_VERSION_HEX >= 0x030E0000
    Py_hash_t h = Py_HashBuffer(p, len);
#else
    Py_hash_t h = _Py_HashBytes(p, len);
#endif
    return (size_t)h;
}

static const unsigned char *
ix_path(PackIndex *ix, struct ix_entry *e)
{
    return (const unsigned char *)PyBytes_AS_STRING(ix->data) + e->at;
}

/* The index of the live entry for `path`, or -1. */
static Py_ssize_t
ix_find(PackIndex *ix, const unsigned char *path, Py_ssize_t len)
{
    size_t i = ix_hash(path, len) & ix->mask;
    for (;;) {
        Py_ssize_t s = ix->slots[i];
        if (s == 0)
            return -1;
        struct ix_entry *e = &ix->entries[s - 1];
        if (e->len == len && memcmp(ix_path(ix, e), path, (size_t)len) == 0)
            return s - 1;
        i = (i + 1) & ix->mask;
    }
}

static void
ix_dealloc(PackIndex *ix)
{
    Py_XDECREF(ix->data);
    PyMem_Free(ix->entries);
    PyMem_Free(ix->slots);
    Py_TYPE(ix)->tp_free((PyObject *)ix);
}

static PyObject *
ix_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *data;
    PackIndex *ix;
    const unsigned char *base, *p, *end;
    Py_ssize_t count = 0;
    size_t cap = 8;

    if (kwds != NULL && PyDict_GET_SIZE(kwds) > 0) {
        PyErr_SetString(PyExc_TypeError, "PackIndex() takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "S:PackIndex", &data))
        return NULL;
    base = (const unsigned char *)PyBytes_AS_STRING(data);
    end = base + PyBytes_GET_SIZE(data);
    if (PyBytes_GET_SIZE(data) < 4 || memcmp(base, "vsp1", 4) != 0) {
        PyErr_SetString(PyExc_ValueError, "not a stat-cache pack");
        return NULL;
    }
    /* First pass: check the whole pack and count its entries. */
    for (p = base + 4; p < end;) {
        size_t len;
        int settled;
        if ((size_t)(end - p) < 5)
            goto bad;
        len = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
        settled = p[4];
        if ((settled != 0 && settled != 1) || len > (size_t)(end - p - 5) ||
            (settled && (size_t)(end - p - 5) - len < 32))
            goto bad;
        /* unpack_keys refuses a path that is not decodable: surrogateescape decodes any bytes. */
        p += 5 + len + (settled ? 32 : 0);
        count++;
    }
    ix = (PackIndex *)type->tp_alloc(type, 0);
    if (ix == NULL)
        return NULL;
    ix->data = Py_NewRef(data);
    while (cap < (size_t)count * 2 + 2)
        cap <<= 1;
    ix->mask = cap - 1;
    ix->entries = PyMem_Calloc((size_t)count + 1, sizeof(struct ix_entry));
    ix->slots = PyMem_Calloc(cap, sizeof(Py_ssize_t));
    if (ix->entries == NULL || ix->slots == NULL) {
        Py_DECREF(ix);
        return PyErr_NoMemory();
    }
    for (p = base + 4; p < end;) {
        struct ix_entry *e = &ix->entries[ix->n];
        size_t len = (size_t)p[0] | (size_t)p[1] << 8 | (size_t)p[2] << 16 | (size_t)p[3] << 24;
        Py_ssize_t old;
        e->settled = p[4];
        e->at = (p + 5) - base;
        e->len = (Py_ssize_t)len;
        p += 5 + len;
        if (e->settled) {
            e->size = read_i64(p);
            e->mtime = read_i64(p + 8);
            e->ino = (unsigned long long)read_i64(p + 16);
            e->ctime = read_i64(p + 24);
            p += 32;
        }
        e->live = 1;
        old = ix_find(ix, base + e->at, e->len);
        if (old >= 0) {
            /* the same path again: the later entry wins (a dict's update); it takes the slot */
            size_t i = ix_hash(base + e->at, e->len) & ix->mask;
            while (ix->slots[i] != old + 1)
                i = (i + 1) & ix->mask;
            ix->slots[i] = ix->n + 1;
            ix->entries[old].live = 0;
        } else {
            size_t i = ix_hash(base + e->at, e->len) & ix->mask;
            while (ix->slots[i] != 0)
                i = (i + 1) & ix->mask;
            ix->slots[i] = ix->n + 1;
            ix->live++;
        }
        ix->n++;
    }
    return (PyObject *)ix;
bad:
    PyErr_SetString(PyExc_ValueError, "damaged stat-cache pack");
    return NULL;
}

static Py_ssize_t
ix_len(PackIndex *ix)
{
    return ix->live;
}

static PyObject *
ix_decode(PackIndex *ix, struct ix_entry *e)
{
    return PyUnicode_DecodeUTF8((const char *)ix_path(ix, e), e->len, "surrogateescape");
}

/* The key unpack_keys gives an entry: None, or (path bytes, size, mtime_ns, ino, ctime_ns, 1). */
static PyObject *
ix_key(PackIndex *ix, struct ix_entry *e)
{
    if (!e->settled)
        return Py_NewRef(Py_None);
    return Py_BuildValue("(y#LLLLi)", (const char *)ix_path(ix, e), e->len, e->size, e->mtime,
                         (long long)e->ino, e->ctime, 1);
}

/* Append the path of `e` (decoded as the pack stores it) to `list`; -1 on a Python error. */
static int
ix_append_path(PackIndex *ix, struct ix_entry *e, PyObject *list)
{
    PyObject *path = ix_decode(ix, e);
    int rc = path == NULL ? -1 : PyList_Append(list, path);
    Py_XDECREF(path);
    return rc;
}

/* The paths of the entries `wanted` picks, in pack order. */
static PyObject *
ix_paths(PackIndex *ix, int (*wanted)(const struct ix_entry *))
{
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < ix->n; i++) {
        struct ix_entry *e = &ix->entries[i];
        if (wanted(e) && ix_append_path(ix, e, out) < 0) {
            Py_DECREF(out);
            return NULL;
        }
    }
    return out;
}

/* Where the last component of a pack path starts. */
static const char *
ix_base_name(const char *data, Py_ssize_t len)
{
    const char *name = data + len;
    while (name > data && name[-1] != '/')
        name--;
    return name;
}

static int
ix_is_pending(const struct ix_entry *e)
{
    return e->live && !e->settled;
}

static PyObject *
ix_pending(PackIndex *ix, PyObject *Py_UNUSED(ignored))
{
    return ix_paths(ix, ix_is_pending);
}

static PyObject *
ix_preload(PackIndex *ix, PyObject *args)
{
    PyObject *root = NULL;
    int threads;
    struct pre_item *items = NULL;
    Py_ssize_t *which = NULL, n = 0, marked = 0;
    char *buf = NULL;
    size_t used = 0, rootlen, total;
    pthread_t tids[PRELOAD_MAX_THREADS];
    struct pre_job jobs[PRELOAD_MAX_THREADS];
    int started[PRELOAD_MAX_THREADS] = {0};

    if (!PyArg_ParseTuple(args, "O&i:preload", PyUnicode_FSConverter, &root, &threads))
        return NULL;
    if (threads < 1)
        threads = 1;
    if (threads > PRELOAD_MAX_THREADS)
        threads = PRELOAD_MAX_THREADS;
    rootlen = (size_t)PyBytes_GET_SIZE(root);
    total = 0;
    for (Py_ssize_t i = 0; i < ix->n; i++) {
        ix->entries[i].verdict = 0;
        ix->entries[i].met = 0;
        total += rootlen + (size_t)ix->entries[i].len + 2;
    }
    items = PyMem_Calloc((size_t)ix->n + 1, sizeof(struct pre_item));
    which = PyMem_Calloc((size_t)ix->n + 1, sizeof(Py_ssize_t));
    buf = PyMem_Malloc(total + 1);
    if (items == NULL || which == NULL || buf == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < ix->n; i++) {
        struct ix_entry *e = &ix->entries[i];
        const char *data = (const char *)ix_path(ix, e), *name;
        /* (A negative inode, in a damaged pack, matches no stat: left to Python, as its twin does.) */
        if (!e->live || !e->settled || e->len == 0 || (long long)e->ino < 0 ||
            memchr(data, '\0', (size_t)e->len) != NULL)
            continue;
        name = ix_base_name(data, e->len);
        if (is_temp_like(name, (size_t)(data + e->len - name)))
            continue;
        items[n].at = used;
        items[n].name = rootlen + 1 + (size_t)(name - data);
        items[n].size = e->size;
        items[n].mtime = e->mtime;
        items[n].ino = e->ino;
        items[n].ctime = e->ctime;
        memcpy(buf + used, PyBytes_AS_STRING(root), rootlen);
        buf[used + rootlen] = '/';
        memcpy(buf + used + rootlen + 1, data, (size_t)e->len);
        buf[used + rootlen + 1 + (size_t)e->len] = '\0';
        used += rootlen + (size_t)e->len + 2;
        which[n++] = i;
    }
    if (threads > n / 64 + 1)
        threads = (int)(n / 64 + 1);
    Py_BEGIN_ALLOW_THREADS
    for (int t = 0; t < threads; t++) {
        jobs[t].items = items;
        jobs[t].buf = buf;
        jobs[t].lo = n * t / threads;
        jobs[t].hi = n * (t + 1) / threads;
        if (t > 0)
            started[t] = pthread_create(&tids[t], NULL, preload_range, &jobs[t]) == 0;
    }
    if (threads > 0)
        preload_range(&jobs[0]);
    for (int t = 1; t < threads; t++) {
        if (started[t])
            pthread_join(tids[t], NULL);
        else
            preload_range(&jobs[t]);
    }
    Py_END_ALLOW_THREADS
    for (Py_ssize_t k = 0; k < n; k++) {
        if (items[k].verdict == 0)
            continue;
        ix->entries[which[k]].verdict = items[k].verdict;
        marked++;
    }
done:
    PyMem_Free(items);
    PyMem_Free(which);
    PyMem_Free(buf);
    Py_DECREF(root);
    return PyErr_Occurred() ? NULL : PyLong_FromSsize_t(marked);
}

static PyObject *
ix_mark_all(PackIndex *ix, PyObject *Py_UNUSED(ignored))
{
    for (Py_ssize_t i = 0; i < ix->n; i++) {
        struct ix_entry *e = &ix->entries[i];
        const char *data = (const char *)ix_path(ix, e), *name = ix_base_name(data, e->len);
        /* a name like a temporary file's is never looked up in the index (settle_dir leaves it to
         * visit()): it stays in rest(), the walk's `missing` */
        e->verdict = !is_temp_like(name, (size_t)(data + e->len - name));
        e->met = 0;
    }
    Py_RETURN_NONE;
}

static PyObject *
ix_rest(PackIndex *ix, PyObject *Py_UNUSED(ignored))
{
    PyObject *out = PyDict_New();
    if (out == NULL)
        return NULL;
    for (Py_ssize_t i = 0; i < ix->n; i++) {
        struct ix_entry *e = &ix->entries[i];
        PyObject *path, *key;
        int rc;
        if (!e->live || e->verdict)
            continue;
        path = ix_decode(ix, e);
        if (path == NULL)
            goto fail;
        key = ix_key(ix, e);
        if (key == NULL) {
            Py_DECREF(path);
            goto fail;
        }
        rc = PyDict_SetItem(out, path, key);
        Py_DECREF(path);
        Py_DECREF(key);
        if (rc < 0)
            goto fail;
    }
    return out;
fail:
    Py_DECREF(out);
    return NULL;
}

static int
ix_is_unmet(const struct ix_entry *e)
{
    return e->live && e->verdict && !e->met;
}

static PyObject *
ix_unmet(PackIndex *ix, PyObject *Py_UNUSED(ignored))
{
    return ix_paths(ix, ix_is_unmet);
}

static PyObject *
ix_settle_dir(PackIndex *ix, PyObject *args)
{
    PyObject *path = NULL, *prefix, *missing, *others = NULL, *linked = NULL, *result = NULL, *raw_prefix = NULL;
    int compare, fd;
    DIR *dir;
    struct dirent *e;
    char *rel = NULL;
    size_t cap = 0, plen;

    if (!PyArg_ParseTuple(args, "O&UO!p:settle_dir", PyUnicode_FSConverter, &path, &prefix, &PyDict_Type,
                          &missing, &compare))
        return NULL;
    raw_prefix = PyUnicode_EncodeFSDefault(prefix);
    if (raw_prefix == NULL) {
        Py_DECREF(path);
        return NULL;
    }
    plen = (size_t)PyBytes_GET_SIZE(raw_prefix);
    fd = open(PyBytes_AS_STRING(path), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || (dir = fdopendir(fd)) == NULL) {
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
        if (fd >= 0)
            close(fd);
        Py_DECREF(path);
        Py_DECREF(raw_prefix);
        return NULL;
    }
    others = PyList_New(0);
    linked = PyList_New(0);
    cap = plen + 256;
    rel = PyMem_Malloc(cap);
    if (others == NULL || linked == NULL || rel == NULL) {
        if (rel == NULL)
            PyErr_NoMemory();
        goto done;
    }
    memcpy(rel, PyBytes_AS_STRING(raw_prefix), plen);
    for (;;) {
        const char *name;
        size_t len;
        Py_ssize_t k;
        errno = 0;
        e = readdir(dir);
        if (e == NULL) {
            if (errno != 0) {
                PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
                goto done;
            }
            break;
        }
        name = e->d_name;
        len = strlen(name);
        if (!((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.')) &&
            !is_temp_like(name, len)) {
            if (plen + len > cap) {
                char *grown = PyMem_Realloc(rel, plen + len);
                if (grown == NULL) {
                    PyErr_NoMemory();
                    goto done;
                }
                rel = grown;
                cap = plen + len;
            }
            memcpy(rel + plen, name, len);
            k = ix_find(ix, (const unsigned char *)rel, (Py_ssize_t)(plen + len));
            if (k >= 0 && ix->entries[k].verdict && !ix->entries[k].met) {
                struct ix_entry *x = &ix->entries[k];
                struct stat st;
                int is_dir = e->d_type == DT_DIR;
                if (!compare && e->d_type == DT_UNKNOWN)  /* as visit(): an unreadable type is "not a directory" */
                    is_dir = fstatat(dirfd(dir), name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
                x->met = 1;
                if (!is_dir) {
                    if (x->verdict == 2 && ix_append_path(ix, x, linked) < 0)
                        goto done;
                    continue;
                }
                /* a directory where preload found the file: not settled; the walk looks at it */
                PyObject *p = ix_decode(ix, x), *pyname;
                if (p == NULL || PyDict_SetItem(missing, p, Py_None) < 0) {
                    Py_XDECREF(p);
                    goto done;
                }
                Py_DECREF(p);
                pyname = PyUnicode_DecodeFSDefaultAndSize(name, (Py_ssize_t)len);
                if (pyname == NULL || PyList_Append(others, pyname) < 0) {
                    Py_XDECREF(pyname);
                    goto done;
                }
                Py_DECREF(pyname);
                continue;
            }
        }
        if (visit(dirfd(dir), e, prefix, missing, compare, others, linked) < 0)
            goto done;
    }
    result = PyTuple_Pack(2, others, linked);
done:
    closedir(dir);
    PyMem_Free(rel);
    Py_XDECREF(others);
    Py_XDECREF(linked);
    Py_DECREF(path);
    Py_DECREF(raw_prefix);
    return result;
}

static PyMethodDef ix_methods[] = {
    {"pending", (PyCFunction)ix_pending, METH_NOARGS, "pending() -> list: the paths whose key is None."},
    {"preload", (PyCFunction)ix_preload, METH_VARARGS,
     "preload(root, threads) -> int: lstat the paths with a stat on threads; mark those that match."},
    {"mark_all", (PyCFunction)ix_mark_all, METH_NOARGS,
     "mark_all(): mark every path, for a walk without compare (forgets an earlier walk)."},
    {"rest", (PyCFunction)ix_rest, METH_NOARGS, "rest() -> dict: the paths not marked, with their keys."},
    {"unmet", (PyCFunction)ix_unmet, METH_NOARGS, "unmet() -> list: the marked paths no settle_dir met."},
    {"settle_dir", (PyCFunction)ix_settle_dir, METH_VARARGS,
     "settle_dir(path, prefix, missing, compare) -> (others, linked): settle_dir, the marked paths first."},
    {NULL, NULL, 0, NULL},
};

static PySequenceMethods ix_as_sequence = {
    .sq_length = (lenfunc)ix_len,
};

static PyTypeObject PackIndexType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vcrdt.worktree._scan.PackIndex",
    .tp_basicsize = sizeof(PackIndex),
    .tp_dealloc = (destructor)ix_dealloc,
    .tp_as_sequence = &ix_as_sequence,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A stat-cache pack read into C, for a walk without a Python object per path.",
    .tp_methods = ix_methods,
    .tp_new = ix_new,
};

static PyMethodDef methods[] = {
    {"settle_dir", settle_dir, METH_VARARGS,
     "settle_dir(path, prefix, missing, compare) -> (others, linked): settle one directory's tracked files."},
    {"preload", preload, METH_VARARGS,
     "preload(root, missing, threads) -> int: lstat the tracked files on threads; mark the rows that match."},
    {"patch_keys", patch_keys, METH_VARARGS,
     "patch_keys(data, drop, changes) -> bytes: a stat-cache pack with paths dropped and keys set."},
    {"pack_keys", pack_keys, METH_O, "pack_keys(keys) -> bytes: make a stat-cache pack (see rows.pack_keys_py)."},
    {"unpack_keys", unpack_keys, METH_O, "unpack_keys(data) -> dict: read a stat-cache pack (see rows.pack_keys)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "vcrdt.worktree._scan",
    .m_doc = "The work-tree walk's hot loop (see vcrdt/worktree/scan.py).",
    .m_size = -1,
    .m_methods = methods,
};

/* A marker: a tuple no stat can match (size -1), so code that does not know it treats it as a stale row. */
static PyObject *
marker(int tag)
{
    return Py_BuildValue("(yLLLLi)", "", -1LL, -1LL, -1LL, -1LL, tag);
}

PyMODINIT_FUNC
PyInit__scan(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (SETTLED == NULL) {
        SETTLED = marker(2);
        SETTLED_LINKED = marker(3);
        if (SETTLED == NULL || SETTLED_LINKED == NULL)
            goto fail;
    }
    if (PyType_Ready(&PackIndexType) < 0 || PyModule_AddObjectRef(m, "PackIndex", (PyObject *)&PackIndexType) < 0)
        goto fail;
    if (PyModule_AddObjectRef(m, "SETTLED", SETTLED) < 0 ||
        PyModule_AddObjectRef(m, "SETTLED_LINKED", SETTLED_LINKED) < 0)
        goto fail;
    return m;
fail:
    Py_DECREF(m);
    return NULL;
}
