#define _GNU_SOURCE
#include "CMeshLinux.h"
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <unistd.h>

int oo_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

int oo_epoll_ctl(int epfd, int op, int fd, uint32_t events) {
    struct epoll_event event = { .events = events, .data = { .fd = fd } };
    return epoll_ctl(epfd, op, fd, &event);
}

int oo_epoll_wait(int epfd, oo_event *out, int max, int timeout_ms) {
    struct epoll_event events[256];
    if (max > 256) max = 256;
    int count = epoll_wait(epfd, events, max, timeout_ms);
    for (int i = 0; i < count; i++) {
        out[i].fd = events[i].data.fd;
        out[i].events = events[i].events;
    }
    return count;
}

int oo_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

int oo_accept(int fd) { return accept4(fd, 0, 0, SOCK_NONBLOCK | SOCK_CLOEXEC); }

int oo_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

void oo_line_buffer_stdout(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
}

void oo_set_thread_name(const char *name) {
    prctl(PR_SET_NAME, (unsigned long)name, 0, 0, 0);
}

void oo_thread_name(char *out) {
    out[0] = 0;
    prctl(PR_GET_NAME, (unsigned long)out, 0, 0, 0);
    out[15] = 0;
}
