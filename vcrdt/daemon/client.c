/*
 * The native vcrdt client: runs a command on the command server without starting Python.
 *
 * It speaks the protocol of vcrdt/daemon/protocol.py (read the docstrings of the package and
 * of that module first) and computes the same socket key as `protocol.socket_key`. Whenever it
 * cannot hand the command to a server before anything has run (no server, a locale or variable
 * it does not know how to key, a refused connection, a server whose code changed), it executes
 * the Python entry point instead, which runs the command in-process and starts a server for
 * next time.
 *
 * `python -m vcrdt.daemon.native OUTPUT` builds it. Its constants are not written here: that
 * build generates "protocol.h" from vcrdt/daemon/protocol.py (`native.header`) with the
 * interpreter (VCRDT_PYTHON), the package directory (VCRDT_PACKAGE), the protocol version,
 * timeouts, message tags, variable names and the lists of `protocol.runs_here`.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

/* Generated at build time from vcrdt/daemon/protocol.py (see `native.header`):
 *   VCRDT_PYTHON, VCRDT_PACKAGE   the interpreter and package directory of this installation
 *   ENTRY, ENTRY_ASKED            what Python runs when no server takes the command
 *   NO_SITE                       1: Python starts with -S, the entry doing site's work first
 *   PROTOCOL, ACK_MS, MAX_TIMEOUT_SECONDS, REPLY_SIZE, TAG_PID, TAG_GO, TAG_EXIT,
 *   INTERNAL_EXIT, LOST_MESSAGE, FNV_OFFSET, FNV_PRIME
 *   NO_SERVER_VAR, TIMEOUT_VAR, RUNTIME_VAR, RUNTIME_SUBDIR, FALLBACK_DIR_PREFIX, SOCKET_SUFFIX
 *   import_time_vars[]   read by typer when it is imported: a client that sets any runs in-process
 *   per_request_vars[]   applied by the server child per command, so not part of the key
 *   encoding_vars[]      change how Python picks its encodings: left to Python itself
 *   value_options[], local_commands[], terminal_commands[]   the rule of `runs_here`
 * (each list ends with NULL). */
#include "protocol.h"

extern char **environ;

static char **args;
/* Set once this client has tried the server: the Python entry point then does not try again. */
static int asked = 0;

/* Run the command with the Python entry point (nothing has run on a server). */
static void run_in_python(void) {
    int argc = 0;
    while (args[argc]) argc++;
    char **py = calloc((size_t)argc + 6, sizeof *py);
    if (!py) {
        fputs("vcrdt: out of memory\n", stderr);
        exit(INTERNAL_EXIT);
    }
    int n = 0;
    py[n++] = VCRDT_PYTHON;
    if (NO_SITE) py[n++] = "-S"; /* the entry does site's work itself (native.site_setup) */
    py[n++] = "-P";
    py[n++] = "-c";
    py[n++] = asked ? ENTRY_ASKED : ENTRY;
    for (int i = 1; i < argc; i++) py[n++] = args[i];
    execv(VCRDT_PYTHON, py);
    fprintf(stderr, "vcrdt: cannot run %s: %s\n", VCRDT_PYTHON, strerror(errno));
    exit(INTERNAL_EXIT);
}

struct buf {
    char *data;
    size_t len, cap;
};

static void put(struct buf *b, const void *p, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap * 2 > b->len + n + 256 ? b->cap * 2 : b->len + n + 256;
        char *data = realloc(b->data, cap);
        if (!data) run_in_python();
        b->data = data;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void put_str(struct buf *b, const char *s, char end) {
    put(b, s, strlen(s));
    put(b, &end, 1);
}

static void put_num(struct buf *b, long n, char end) {
    char text[32];
    snprintf(text, sizeof text, "%ld", n);
    put_str(b, text, end);
}

static int listed(const char *name, size_t len, const char *const *list) {
    for (; *list; list++)
        if (strlen(*list) == len && memcmp(*list, name, len) == 0) return 1;
    return 0;
}

static int set_in_env(const char *const *list) {
    for (; *list; list++)
        if (getenv(*list)) return 1;
    return 0;
}

static int compare_entries(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The command word: the first argument that is neither an option nor an option's value. */
static const char *command_word(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (listed(argv[i], strlen(argv[i]), value_options))
            i++;
        else if (argv[i][0] != '-')
            return argv[i];
    }
    return NULL;
}

/* As protocol.runs_here: whether the command runs in this process rather than on a server. */
static int runs_here(int argc, char **argv) {
    const char *word = command_word(argc, argv);
    if (!word) return 0;
    return listed(word, strlen(word), local_commands) ||
           (isatty(0) && listed(word, strlen(word), terminal_commands));
}

/* 64-bit FNV-1a, as protocol.fnv1a64. */
static uint64_t fnv1a64(const unsigned char *p, size_t n) {
    uint64_t h = FNV_OFFSET;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

/* The socket key of protocol.key_text, for a Python started in this environment. */
static uint64_t socket_key(int utf8_mode) {
    struct buf text = {0};
    put_str(&text, PROTOCOL, '\n');
    put_str(&text, VCRDT_PYTHON, '\n');
    put_str(&text, VCRDT_PACKAGE, '\n');
    put_str(&text, "utf-8", '\n');
    put_num(&text, utf8_mode, '\n');
    size_t count = 0;
    for (char **e = environ; *e; e++) count++;
    const char **python = calloc(count + 1, sizeof *python);
    if (!python) run_in_python();
    size_t n = 0;
    for (char **e = environ; *e; e++) {
        const char *eq = strchr(*e, '=');
        if (!eq || eq == *e || strncmp(*e, "PYTHON", 6) != 0) continue;
        if (listed(*e, (size_t)(eq - *e), per_request_vars)) continue;
        python[n++] = *e;
    }
    qsort(python, n, sizeof *python, compare_entries);
    for (size_t i = 0; i < n; i++) put_str(&text, python[i], '\n');
    uint64_t key = fnv1a64((const unsigned char *)text.data, text.len);
    free(python);
    free(text.data);
    return key;
}

/* Python's UTF-8 mode for this locale (1 for C/POSIX, 0 for a UTF-8 locale), or -1 for others. */
static int utf8_mode(void) {
    const char *loc = setlocale(LC_CTYPE, "");
    if (!loc) loc = setlocale(LC_CTYPE, NULL);
    if (!loc) return -1;
    if (strcmp(loc, "C") == 0 || strcmp(loc, "POSIX") == 0) return 1;
    return strcmp(nl_langinfo(CODESET), "UTF-8") == 0 ? 0 : -1;
}

/* The user's private socket directory, as protocol.runtime_dir, or 0 when it is not safe. */
static int runtime_dir(char *path, size_t size) {
    const char *base = getenv(RUNTIME_VAR);
    int n = base && *base ? snprintf(path, size, "%s/" RUNTIME_SUBDIR, base)
                          : snprintf(path, size, FALLBACK_DIR_PREFIX "%u", (unsigned)getuid());
    if (n < 0 || (size_t)n >= size) return 0;
    if (mkdir(path, 0700) != 0 && errno != EEXIST) return 0;
    struct stat st;
    if (lstat(path, &st) != 0) return 0;
    return S_ISDIR(st.st_mode) && st.st_uid == getuid() && !(st.st_mode & 077);
}

static volatile sig_atomic_t child_pid = 0;
static volatile sig_atomic_t received = 0;
static const int forwarded[3] = {SIGINT, SIGTERM, SIGHUP};

/* Pass the signal on to the child at once; before the child is known, only note it (the wait
 * for the acknowledgement then ends: nothing has run, and the client ends by the signal). */
static void forward(int sig) {
    received = sig;
    if (child_pid > 0) kill((pid_t)child_pid, sig);
}

/* As protocol.ack_seconds: ACK_MS, or TIMEOUT_VAR seconds when it is set and sane. */
static long ack_ms(void) {
    const char *text = getenv(TIMEOUT_VAR);
    if (!text || !*text) return ACK_MS;
    char *end;
    double seconds = strtod(text, &end);
    if (*end || !(seconds > 0 && seconds <= MAX_TIMEOUT_SECONDS)) return ACK_MS;
    long ms = (long)(seconds * 1000);
    return ms > 0 ? ms : 1;
}

static long now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* End the way the signal that arrived before the child was known would have ended us. */
static void end_by_signal(int sock) {
    close(sock);
    struct sigaction dfl = {0};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(received, &dfl, NULL);
    raise(received);
    exit(128 + received);
}

static int32_t read_int(const unsigned char *p) {
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3]);
}

/* Send the request; 0 if it could not be sent. */
static int send_request(int sock, const struct buf *message) {
    size_t done = 0;
    while (done < message->len) {
        ssize_t more = send(sock, message->data + done, message->len - done, MSG_NOSIGNAL);
        if (more < 0 && errno == EINTR) continue;
        if (more <= 0) return 0;
        done += (size_t)more;
    }
    return 1;
}

/* Tell the child to go, with descriptors 0, 1, 2 and the current directory; 0 if that failed. */
static int send_go(int sock) {
    int cwd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cwd < 0) return 0;
    int fds[4] = {0, 1, 2, cwd};
    char control[CMSG_SPACE(sizeof fds)];
    memset(control, 0, sizeof control);
    char go = TAG_GO;
    struct iovec iov = {&go, 1};
    struct msghdr msg = {0};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof fds);
    memcpy(CMSG_DATA(cmsg), fds, sizeof fds);
    ssize_t sent;
    do sent = sendmsg(sock, &msg, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    close(cwd);
    return sent == 1;
}

/* Nothing ran on a server: run the command in Python (unless a signal came meanwhile). */
static void no_server(int sock) {
    if (received) end_by_signal(sock);
    close(sock);
    struct sigaction dfl = {0};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    for (int i = 0; i < 3; i++) sigaction(forwarded[i], &dfl, NULL);
    run_in_python();
}

/* Wait for the child's pid (at most ack_ms()), tell it to go, then wait for its exit code,
 * forwarding signals; returns only if nothing ran. */
static void wait_for_child(int sock) {
    struct sigaction action = {0};
    unsigned char buf[64];
    size_t have = 0;
    long deadline = now_ms() + ack_ms();
    while (have < REPLY_SIZE) {
        if (received) end_by_signal(sock);
        long left = deadline - now_ms();
        if (left <= 0) return; /* the server did not acknowledge: it runs nothing */
        struct pollfd p = {sock, POLLIN, 0};
        int ready = poll(&p, 1, (int)left);
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) continue;
        ssize_t n = recv(sock, buf + have, REPLY_SIZE - have, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) return;
        have += (size_t)n;
    }
    if (buf[0] != TAG_PID) return;
    /* From "go" on, a signal is the child's: none is handled between sending it and knowing the pid. */
    sigset_t block, old;
    sigemptyset(&block);
    for (int i = 0; i < 3; i++) sigaddset(&block, forwarded[i]);
    sigprocmask(SIG_BLOCK, &block, &old);
    if (received) end_by_signal(sock);
    if (!send_go(sock)) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        return; /* the child is gone before it started */
    }
    child_pid = read_int(buf + 1);
    sigprocmask(SIG_SETMASK, &old, NULL);
    have = 0;
    for (;;) {
        ssize_t n = recv(sock, buf + have, sizeof buf - have, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        have += (size_t)n;
        size_t at = 0;
        for (; have - at >= REPLY_SIZE; at += REPLY_SIZE)
            if (buf[at] == TAG_EXIT) exit(read_int(buf + at + 1) & 0xff);
        memmove(buf, buf + at, have - at);
        have -= at;
    }
    if (received) {
        /* The child died of the signal we passed on: end the same way. */
        action.sa_handler = SIG_DFL;
        sigaction(received, &action, NULL);
        raise(received);
    }
    fputs(LOST_MESSAGE, stderr);
    exit(INTERNAL_EXIT);
}

/* Open /dev/null on each of descriptors 0-2 that is closed, before anything else is opened: the
 * socket would otherwise take the number, and the command's output would go into it. */
static void occupy_stdio(void) {
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
        int null = open("/dev/null", O_RDWR);
        if (null < 0) exit(INTERNAL_EXIT);
        if (null != fd) {
            dup2(null, fd);
            close(null);
        }
    }
}

int main(int argc, char **argv) {
    args = argv;
    occupy_stdio();
    const char *off = getenv(NO_SERVER_VAR);
    if ((off && *off && strcmp(off, "0") != 0) || set_in_env(import_time_vars) || set_in_env(encoding_vars) ||
        runs_here(argc, argv))
        run_in_python();
    int mode = utf8_mode();
    char dir[4096];
    if (mode < 0 || !runtime_dir(dir, sizeof dir)) run_in_python();

    struct sockaddr_un addr = {0};
    addr.sun_family = AF_UNIX;
    int n = snprintf(addr.sun_path, sizeof addr.sun_path, "%s/%016llx" SOCKET_SUFFIX, dir,
                     (unsigned long long)socket_key(mode));
    if (n < 0 || (size_t)n >= sizeof addr.sun_path) run_in_python();
    int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0) run_in_python();
    /* Connecting and sending block, too, on a server that does not accept or read. */
    long ms = ack_ms();
    struct timeval limit = {ms / 1000, (ms % 1000) * 1000};
    setsockopt(sock, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    asked = 1;
    /* From here on a signal ends the client cleanly until the child is known, then goes to it. */
    struct sigaction action = {0};
    action.sa_handler = forward;
    sigemptyset(&action.sa_mask);
    for (int i = 0; i < 3; i++) sigaction(forwarded[i], &action, NULL);
    if (connect(sock, (struct sockaddr *)&addr, sizeof addr) != 0) no_server(sock);

    struct buf body = {0};
    put_str(&body, PROTOCOL, '\0');
    put_num(&body, argc - 1, '\0');
    for (int i = 1; i < argc; i++) put_str(&body, argv[i], '\0');
    long envc = 0;
    for (char **e = environ; *e; e++) envc++;
    put_num(&body, envc, '\0');
    for (char **e = environ; *e; e++) put_str(&body, *e, '\0');
    mode_t mask = umask(022);
    umask(mask);
    put_num(&body, (long)mask, '\0');
    struct buf message = {0};
    unsigned char size[4] = {(unsigned char)(body.len >> 24), (unsigned char)(body.len >> 16),
                             (unsigned char)(body.len >> 8), (unsigned char)body.len};
    put(&message, size, 4);
    put(&message, body.data, body.len);
    free(body.data);

    int sent = send_request(sock, &message);
    free(message.data);
    if (sent) wait_for_child(sock);
    no_server(sock);
    return INTERNAL_EXIT;
}
