/*
 * tls.h - the TLS certificate chain and key, read once by the supervisor.
 *
 * The supervisor reads --ssl-cert and --ssl-key into memory before it drops
 * privileges (a key is usually readable by root only) and checks that they
 * load and match; each worker installs them into its own vhost's SSL_CTX.
 */
#ifndef WSTASKD_TLS_H
#define WSTASKD_TLS_H

#include <stddef.h>

struct tls_pem {
	char	*cert;		/* PEM: the certificate, then its chain */
	size_t	 certlen;
	char	*key;		/* PEM private key */
	size_t	 keylen;
};

int	tls_pem_read(struct tls_pem *pem, const char *certfile,
	    const char *keyfile, char *err, size_t errlen);
int	tls_pem_install(void *ssl_ctx, const struct tls_pem *pem, char *err,
	    size_t errlen);
void	tls_pem_free(struct tls_pem *pem);

#endif
