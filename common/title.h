/*
 * title.h - the process title (ps), for both roles.
 */
#ifndef WSTASKD_TITLE_H
#define WSTASKD_TITLE_H

void	title_init(int argc, char **argv, char **envp);
void	title_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
