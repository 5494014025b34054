/*
 * pause: the process that holds a pod's namespaces open.
 *
 * Every pod sandbox runs one; the pod's other containers join its network,
 * IPC (and, with a shared PID namespace, PID) namespaces. When it is PID 1 of
 * a shared PID namespace it must reap orphaned children, or they stay zombies.
 * It exits promptly and cleanly on SIGTERM or SIGINT so the runtime can stop
 * the sandbox without waiting for its kill timeout.
 *
 * Written for nethealth-operator's local test cluster; built with
 * `gcc -static -O2` so the image needs no libc.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal;

static void on_stop(int signo) { stop_signal = signo; }

/* Only needs to exist: a handled (not ignored, not default) SIGCHLD makes
 * sigsuspend return; the reaping itself happens in the main loop. */
static void on_child(int signo) { (void)signo; }

static void reap_children(void) {
    /* Collect every child that has exited; none of them is ours to report. */
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

int main(int argc, char **argv) {
    if (argc > 1 && (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0)) {
        puts("nethealth pause 1");
        return 0;
    }

    struct sigaction stop = {.sa_handler = on_stop};
    sigemptyset(&stop.sa_mask);
    struct sigaction reap = {.sa_handler = on_child, .sa_flags = SA_NOCLDSTOP};
    sigemptyset(&reap.sa_mask);

    sigset_t blocked, waiting;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGINT);
    sigaddset(&blocked, SIGCHLD);
    /* Block the signals we wait for, then sleep in sigsuspend with them
     * unblocked: no signal can slip in between checking and sleeping. */
    if (sigprocmask(SIG_BLOCK, &blocked, &waiting) != 0) {
        perror("pause: sigprocmask");
        return 1;
    }
    /* Whatever mask we inherited, these three must get through while waiting. */
    sigdelset(&waiting, SIGTERM);
    sigdelset(&waiting, SIGINT);
    sigdelset(&waiting, SIGCHLD);
    if (sigaction(SIGTERM, &stop, NULL) != 0 || sigaction(SIGINT, &stop, NULL) != 0) {
        perror("pause: sigaction");
        return 1;
    }
    if (sigaction(SIGCHLD, &reap, NULL) != 0) {
        perror("pause: sigaction");
        return 1;
    }

    for (;;) {
        sigsuspend(&waiting);
        reap_children();
        if (stop_signal != 0) {
            fprintf(stderr, "pause: shutting down on signal %d\n", (int)stop_signal);
            return 0;
        }
    }
}
