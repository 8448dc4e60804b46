/*
 * The native vcrdt client: runs a command on the command server without starting Python.
 *
 * It speaks the protocol of vcrdt/cli/server.py (read its docstring first) and computes the
 * same socket key as `server.socket_key`. Whenever it cannot hand the command to a server
 * before anything has run (no server, a locale or variable it does not know how to key, a
 * refused connection, a server whose code changed), it executes the Python entry point
 * instead, which runs the command in-process and starts a server for next time.
 *
 * `python -m vcrdt.cli.native OUTPUT` builds it with VCRDT_PYTHON (the interpreter) and
 * VCRDT_PACKAGE (the vcrdt package directory) defined as C strings.
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

#ifndef VCRDT_PYTHON
#error "define VCRDT_PYTHON, the interpreter of the vcrdt installation"
#endif
#ifndef VCRDT_PACKAGE
#error "define VCRDT_PACKAGE, the directory of the vcrdt package"
#endif

#define PROTOCOL "3"
/* server.ACK_SECONDS, in milliseconds: how long the server has to acknowledge a request. */
#define ACK_MS 1000

extern char **environ;

/* Read by typer when it is imported: a client that sets any of them runs in-process. */
static const char *const import_time_vars[] = {
    "TYPER_USE_RICH", "TERMINAL_WIDTH", "_TYPER_FORCE_DISABLE_TERMINAL", "GITHUB_ACTIONS",
    "FORCE_COLOR", "PY_COLORS", "TYPER_STANDARD_TRACEBACK", "_TYPER_STANDARD_TRACEBACK", NULL,
};
/* Applied by the server child per command, so not part of the key. */
static const char *const per_request_vars[] = {
    "PYTHONIOENCODING", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", NULL,
};
/* Global options that take a value, and the commands this client never hands to a server
 * (server.VALUE_OPTIONS, server.LOCAL_COMMANDS; see `runs_here`). */
static const char *const value_options[] = {"-C", "--color", NULL};
static const char *const local_commands[] = {"daemon", NULL};
/* server.TERMINAL_COMMANDS: run in this process when stdin is a terminal (they may prompt). */
static const char *const terminal_commands[] = {"merge", "resolve", NULL};
/* Variables that change how Python picks its encodings: left to Python itself. */
static const char *const encoding_vars[] = {"PYTHONUTF8", "PYTHONCOERCECLOCALE", NULL};

static char **args;
/* Set once this client has tried the server: the Python entry point then does not try again. */
static int asked = 0;

/* Run the command with the Python entry point (nothing has run on a server). */
static void run_in_python(void) {
    int argc = 0;
    while (args[argc]) argc++;
    char **py = calloc((size_t)argc + 5, sizeof *py);
    if (!py) {
        fputs("vcrdt: out of memory\n", stderr);
        exit(255);
    }
    py[0] = VCRDT_PYTHON;
    py[1] = "-P";
    py[2] = "-c";
    py[3] = asked ? "from vcrdt.cli import main; main(asked=True)" : "from vcrdt.cli import main; main()";
    for (int i = 1; i < argc; i++) py[3 + i] = args[i];
    execv(VCRDT_PYTHON, py);
    fprintf(stderr, "vcrdt: cannot run %s: %s\n", VCRDT_PYTHON, strerror(errno));
    exit(255);
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

/* As server.runs_here: whether the command runs in this process rather than on a server. */
static int runs_here(int argc, char **argv) {
    const char *word = command_word(argc, argv);
    if (!word) return 0;
    return listed(word, strlen(word), local_commands) ||
           (isatty(0) && listed(word, strlen(word), terminal_commands));
}

/* 64-bit FNV-1a, as server.fnv1a64. */
static uint64_t fnv1a64(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* The socket key of server.key_text, for a Python started in this environment. */
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

/* The user's private socket directory, as server.runtime_dir, or 0 when it is not safe. */
static int runtime_dir(char *path, size_t size) {
    const char *base = getenv("XDG_RUNTIME_DIR");
    int n = base && *base ? snprintf(path, size, "%s/vcrdt", base)
                          : snprintf(path, size, "/tmp/vcrdt-%u", (unsigned)getuid());
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

/* As server.ack_seconds: ACK_MS, or VCRDT_SERVER_TIMEOUT seconds when it is set and sane. */
static long ack_ms(void) {
    const char *text = getenv("VCRDT_SERVER_TIMEOUT");
    if (!text || !*text) return ACK_MS;
    char *end;
    double seconds = strtod(text, &end);
    if (*end || !(seconds > 0 && seconds <= 3600)) return ACK_MS;
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
    struct iovec iov = {"G", 1};
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

/* Wait for the child's pid (at most ACK_MS), tell it to go, then wait for its exit code,
 * forwarding signals; returns only if nothing ran. */
static void wait_for_child(int sock) {
    struct sigaction action = {0};
    unsigned char buf[64];
    size_t have = 0;
    long deadline = now_ms() + ack_ms();
    while (have < 5) {
        if (received) end_by_signal(sock);
        long left = deadline - now_ms();
        if (left <= 0) return; /* the server did not acknowledge: it runs nothing */
        struct pollfd p = {sock, POLLIN, 0};
        int ready = poll(&p, 1, (int)left);
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) continue;
        ssize_t n = recv(sock, buf + have, 5 - have, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) return;
        have += (size_t)n;
    }
    if (buf[0] != 'P') return;
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
        for (; have - at >= 5; at += 5)
            if (buf[at] == 'X') exit(read_int(buf + at + 1) & 0xff);
        memmove(buf, buf + at, have - at);
        have -= at;
    }
    if (received) {
        /* The child died of the signal we passed on: end the same way. */
        action.sa_handler = SIG_DFL;
        sigaction(received, &action, NULL);
        raise(received);
    }
    fputs("vcrdt: the command server lost the command (set VCRDT_NO_SERVER=1 to run without it)\n", stderr);
    exit(255);
}

/* Open /dev/null on each of descriptors 0-2 that is closed, before anything else is opened: the
 * socket would otherwise take the number, and the command's output would go into it. */
static void occupy_stdio(void) {
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
        int null = open("/dev/null", O_RDWR);
        if (null < 0) exit(255);
        if (null != fd) {
            dup2(null, fd);
            close(null);
        }
    }
}

int main(int argc, char **argv) {
    args = argv;
    occupy_stdio();
    const char *off = getenv("VCRDT_NO_SERVER");
    if ((off && *off && strcmp(off, "0") != 0) || set_in_env(import_time_vars) || set_in_env(encoding_vars) ||
        runs_here(argc, argv))
        run_in_python();
    int mode = utf8_mode();
    char dir[4096];
    if (mode < 0 || !runtime_dir(dir, sizeof dir)) run_in_python();

    struct sockaddr_un addr = {0};
    addr.sun_family = AF_UNIX;
    int n = snprintf(addr.sun_path, sizeof addr.sun_path, "%s/%016llx.sock", dir,
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
    return 255;
}
