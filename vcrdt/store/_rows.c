/*
 * vcrdt.store._rows: the rows of a query on an open `sqlite3.Connection`,
 * read through SQLite's C API.
 *
 * fetch(conn, sql, params) -> list | None
 *   What `conn.execute(sql, params).fetchall()` returns (a tuple of int,
 *   float, str, bytes or None per row), or None wherever it is not sure to
 *   return just that: the caller then runs the query through `_sqlite3`,
 *   which is the pure-Python twin (`vcrdt.store.sqlite.SqliteStore` calls
 *   this first for the commit table's rows, read a window at a time by `log`).
 *   None: `conn` is not a `sqlite3.Connection` or is closed, `sql` is not
 *   one statement that only reads, a parameter is not an int, bytes or str,
 *   SQLite's functions were not found, or SQLite failed (busy, a damaged
 *   database, text that is not UTF-8, ...).
 *
 * Like `_sqlite3` with check_same_thread=False (how vcrdt opens its
 * connections) it reads from any thread: SQLite serializes the calls on one
 * connection itself.
 *
 * Why: `_sqlite3` releases and takes the GIL around every value it reads
 * (`sqlite3_column_type`) and every step; a `log -n 1000` reads 8,000
 * values, and that hand-over cost more than the walk and its text.  Here
 * the GIL is held from the first step to the last: a read of a few hundred
 * rows of a local table (a wait of the connection's busy handler, rare for a
 * read in WAL mode, holds it too).
 *
 * How: the connection's `sqlite3 *` is the first member after the object
 * header of `_sqlite3`'s connection object, in every CPython this module is
 * built for (3.11 to 3.13, checked at build time below; on another one
 * fetch always returns None).  SQLite's functions are looked up, once, in
 * `_sqlite3`'s own library and the ones it loaded (`lookup`), so the SQLite
 * is the one that opened the connection, and no SQLite headers or link-time
 * library are needed.  Where they are not found there (a SQLite linked into
 * `_sqlite3` without exporting its functions) or dlopen is missing (not a
 * POSIX system), fetch always returns None.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#if defined(__unix__) || defined(__APPLE__)
#include <dlfcn.h>
#define HAVE_DLSYM 1
#endif

/* The connection layouts known to start with the handle. */
#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030E0000
#define KNOWN_LAYOUT 1
#endif

/* SQLite's stable C API, as sqlite3.h declares it. */
typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;
#define SQLITE_OK 0
#define SQLITE_INTEGER 1
#define SQLITE_FLOAT 2
#define SQLITE_TEXT 3
#define SQLITE_BLOB 4
#define SQLITE_NULL 5
#define SQLITE_ROW 100
#define SQLITE_DONE 101
#define SQLITE_TRANSIENT ((void (*)(void *))-1)

typedef struct {
    PyObject_HEAD
    sqlite3 *db;
} ConnectionHead;

static struct {
    int (*prepare_v2)(sqlite3 *, const char *, int, sqlite3_stmt **, const char **);
    int (*bind_blob)(sqlite3_stmt *, int, const void *, int, void (*)(void *));
    int (*bind_int64)(sqlite3_stmt *, int, long long);
    int (*bind_text)(sqlite3_stmt *, int, const char *, int, void (*)(void *));
    int (*bind_parameter_count)(sqlite3_stmt *);
    int (*step)(sqlite3_stmt *);
    int (*column_count)(sqlite3_stmt *);
    int (*column_type)(sqlite3_stmt *, int);
    long long (*column_int64)(sqlite3_stmt *, int);
    double (*column_double)(sqlite3_stmt *, int);
    const void *(*column_blob)(sqlite3_stmt *, int);
    const unsigned char *(*column_text)(sqlite3_stmt *, int);
    int (*column_bytes)(sqlite3_stmt *, int);
    int (*finalize)(sqlite3_stmt *);
    int (*stmt_readonly)(sqlite3_stmt *);
} api;

static PyObject *connection_type; /* _sqlite3.Connection */
static int looked_up = 0, found = 0;

#ifdef HAVE_DLSYM
/* In `_sqlite3`'s library and the libraries it loaded (a SQLite linked into
 * it, or the shared one it uses); the process's global symbols only for a
 * `_sqlite3` built into the interpreter.  Never the global symbols first: a
 * SQLite that some other library loaded is not the one `_sqlite3` holds. */
static void *
lookup(void *library, const char *name)
{
    return dlsym(library != NULL ? library : RTLD_DEFAULT, name);
}
#endif

/* Find SQLite's functions and `_sqlite3.Connection`, once; 1 if all are there. */
static int
find_api(void)
{
    if (looked_up)
        return found;
    looked_up = 1;
#if defined(HAVE_DLSYM) && defined(KNOWN_LAYOUT)
    PyObject *module = PyImport_ImportModule("_sqlite3");
    if (module == NULL) {
        PyErr_Clear();
        return 0;
    }
    connection_type = PyObject_GetAttrString(module, "Connection");
    PyObject *file = PyObject_GetAttrString(module, "__file__");
    Py_DECREF(module);
    if (connection_type == NULL || !PyType_Check(connection_type)) {
        PyErr_Clear();
        Py_CLEAR(connection_type);
        Py_XDECREF(file);
        return 0;
    }
    void *library = NULL;
    int built_in = file == NULL; /* a _sqlite3 built into the interpreter has no __file__ */
    if (file != NULL && PyUnicode_Check(file)) {
        PyObject *path = PyUnicode_EncodeFSDefault(file);
        if (path != NULL) {
            library = dlopen(PyBytes_AS_STRING(path), RTLD_LAZY | RTLD_NOLOAD);
            Py_DECREF(path);
        }
    }
    PyErr_Clear();
    Py_XDECREF(file);
    if (library == NULL && !built_in)
        return 0;
#define FIND(field, name)                                          \
    if ((*(void **)&api.field = lookup(library, name)) == NULL) \
        return 0;
    FIND(prepare_v2, "sqlite3_prepare_v2");
    FIND(bind_blob, "sqlite3_bind_blob");
    FIND(bind_int64, "sqlite3_bind_int64");
    FIND(bind_text, "sqlite3_bind_text");
    FIND(bind_parameter_count, "sqlite3_bind_parameter_count");
    FIND(step, "sqlite3_step");
    FIND(column_count, "sqlite3_column_count");
    FIND(column_type, "sqlite3_column_type");
    FIND(column_int64, "sqlite3_column_int64");
    FIND(column_double, "sqlite3_column_double");
    FIND(column_blob, "sqlite3_column_blob");
    FIND(column_text, "sqlite3_column_text");
    FIND(column_bytes, "sqlite3_column_bytes");
    FIND(finalize, "sqlite3_finalize");
    FIND(stmt_readonly, "sqlite3_stmt_readonly");
#undef FIND
    found = 1;
#endif
    return found;
}

/* Bind params (a tuple) to stmt; 0 done, -1 a value this does not bind. */
static int
bind(sqlite3_stmt *stmt, PyObject *params)
{
    Py_ssize_t n = PyTuple_GET_SIZE(params);
    if (n != api.bind_parameter_count(stmt))
        return -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *v = PyTuple_GET_ITEM(params, i);
        int rc;
        if (PyBytes_CheckExact(v)) {
            if (PyBytes_GET_SIZE(v) > INT32_MAX)
                return -1;
            rc = api.bind_blob(stmt, (int)i + 1, PyBytes_AS_STRING(v), (int)PyBytes_GET_SIZE(v), SQLITE_TRANSIENT);
        } else if (PyLong_CheckExact(v)) {
            int overflow = 0;
            long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
            if (overflow || (x == -1 && PyErr_Occurred())) {
                PyErr_Clear();
                return -1;
            }
            rc = api.bind_int64(stmt, (int)i + 1, x);
        } else if (PyUnicode_CheckExact(v)) {
            Py_ssize_t size;
            const char *text = PyUnicode_AsUTF8AndSize(v, &size);
            if (text == NULL || size > INT32_MAX) {
                PyErr_Clear();
                return -1;
            }
            rc = api.bind_text(stmt, (int)i + 1, text, (int)size, SQLITE_TRANSIENT);
        } else {
            return -1;
        }
        if (rc != SQLITE_OK)
            return -1;
    }
    return 0;
}

/* One row as `_sqlite3` makes it; NULL with no exception set when unsure. */
static PyObject *
row_of(sqlite3_stmt *stmt, int columns)
{
    PyObject *row = PyTuple_New(columns);
    if (row == NULL)
        return NULL;
    for (int i = 0; i < columns; i++) {
        PyObject *v;
        int type = api.column_type(stmt, i);
        if (type == SQLITE_INTEGER) {
            v = PyLong_FromLongLong(api.column_int64(stmt, i));
        } else if (type == SQLITE_TEXT) {
            const char *text = (const char *)api.column_text(stmt, i);
            if (text == NULL)
                goto unsure; /* out of memory: _sqlite3 says so */
            v = PyUnicode_DecodeUTF8(text, api.column_bytes(stmt, i), NULL);
            if (v == NULL && PyErr_ExceptionMatches(PyExc_UnicodeDecodeError))
                goto unsure; /* _sqlite3 raises OperationalError: for it to say */
        } else if (type == SQLITE_BLOB) {
            const void *blob = api.column_blob(stmt, i);
            int size = api.column_bytes(stmt, i);
            if (blob == NULL && size != 0)
                goto unsure;
            v = PyBytes_FromStringAndSize(blob != NULL ? blob : "", size);
        } else if (type == SQLITE_FLOAT) {
            v = PyFloat_FromDouble(api.column_double(stmt, i));
        } else if (type == SQLITE_NULL) {
            v = Py_NewRef(Py_None);
        } else {
            goto unsure;
        }
        if (v == NULL) {
            Py_DECREF(row);
            return NULL;
        }
        PyTuple_SET_ITEM(row, i, v);
    }
    return row;
unsure:
    PyErr_Clear();
    Py_DECREF(row);
    return NULL;
}

static PyObject *
fetch(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *conn, *params;
    const char *sql;
    Py_ssize_t sql_len;
    if (!PyArg_ParseTuple(args, "Os#O!:fetch", &conn, &sql, &sql_len, &PyTuple_Type, &params))
        return NULL;
    if (!find_api() || Py_TYPE(conn) != (PyTypeObject *)connection_type || sql_len > INT32_MAX)
        Py_RETURN_NONE;
    sqlite3 *db = ((ConnectionHead *)conn)->db;
    if (db == NULL) /* closed */
        Py_RETURN_NONE;
    sqlite3_stmt *stmt = NULL;
    const char *tail = NULL;
    if (api.prepare_v2(db, sql, (int)sql_len, &stmt, &tail) != SQLITE_OK || stmt == NULL) {
        api.finalize(stmt);
        Py_RETURN_NONE;
    }
    PyObject *rows = NULL;
    /* One statement, that only reads: anything else is for `_sqlite3` (which refuses a second one). */
    for (const char *end = sql + sql_len; tail != NULL && tail < end; tail++)
        if (*tail != ' ' && *tail != '\t' && *tail != '\n' && *tail != '\r' && *tail != ';')
            goto unsure;
    if (!api.stmt_readonly(stmt) || bind(stmt, params) < 0)
        goto unsure;
    rows = PyList_New(0);
    if (rows == NULL)
        goto error;
    int columns = api.column_count(stmt);
    while (1) {
        int rc = api.step(stmt);
        if (rc == SQLITE_DONE)
            break;
        if (rc != SQLITE_ROW)
            goto unsure;
        PyObject *row = row_of(stmt, columns);
        if (row == NULL) {
            if (PyErr_Occurred())
                goto error;
            goto unsure;
        }
        int appended = PyList_Append(rows, row);
        Py_DECREF(row);
        if (appended < 0)
            goto error;
    }
    api.finalize(stmt);
    return rows;
unsure:
    api.finalize(stmt);
    Py_XDECREF(rows);
    Py_RETURN_NONE;
error:
    api.finalize(stmt);
    Py_XDECREF(rows);
    return NULL;
}

static PyMethodDef methods[] = {
    {"fetch", fetch, METH_VARARGS,
     "fetch(conn, sql, params): conn.execute(sql, params).fetchall() through SQLite's C API, or None."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "vcrdt.store._rows",
    .m_doc = "The rows of a query read through SQLite's C API (see vcrdt/store/_rows.c).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__rows(void)
{
    return PyModule_Create(&module);
}
