/*
 * tls.c - load a PEM certificate chain and key from memory into an SSL_CTX.
 *
 * libwebsockets can take a certificate from memory, but only the leaf (it
 * converts it to DER), which loses the intermediates a public CA needs.
 * So the worker's vhost is created with an empty SSL_CTX and this fills it:
 * the first certificate, every following one as the chain, and the key.
 * libssl is already what libwebsockets uses; no new dependency.
 * Helpers fill the caller's error buffer and do not log.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "tls.h"

#define PEM_MAX	(1024 * 1024)

static int
tls_read_file(const char *path, char **out, size_t *outlen, char *err,
    size_t errlen)
{
	char	*buf = NULL;
	size_t	 len = 0, n;
	FILE	*fp;

	if ((fp = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(PEM_MAX + 1)) == NULL) {
		snprintf(err, errlen, "malloc: %s", strerror(errno));
		fclose(fp);
		return -1;
	}
	while ((n = fread(buf + len, 1, PEM_MAX + 1 - len, fp)) > 0)
		len += n;
	if (ferror(fp) || len > PEM_MAX) {
		snprintf(err, errlen, "%s: %s", path, ferror(fp) ?
		    "read error" : "larger than 1 MiB");
		fclose(fp);
		free(buf);
		return -1;
	}
	fclose(fp);
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

static void
tls_error(char *err, size_t errlen, const char *what)
{
	unsigned long	e = ERR_get_error();

	snprintf(err, errlen, "%s: %s", what, e ? ERR_reason_error_string(e) :
	    "no PEM data found");
	ERR_clear_error();
}

static int
tls_install_chain(SSL_CTX *ctx, BIO *bio, char *err, size_t errlen)
{
	X509	*x;

	if ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		tls_error(err, errlen, "certificate");
		return -1;
	}
	if (SSL_CTX_use_certificate(ctx, x) != 1) {
		X509_free(x);
		tls_error(err, errlen, "certificate");
		return -1;
	}
	X509_free(x);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			X509_free(x);
			tls_error(err, errlen, "chain certificate");
			return -1;
		}
	ERR_clear_error();	/* the end of the PEM data */
	return 0;
}

/* ssl_ctx is an SSL_CTX *; void here so callers need no OpenSSL header. */
int
tls_pem_install(void *ssl_ctx, const struct tls_pem *pem, char *err,
    size_t errlen)
{
	SSL_CTX		*ctx = ssl_ctx;
	EVP_PKEY	*pkey;
	BIO		*bio;
	int		 rc;

	if ((bio = BIO_new_mem_buf(pem->cert, (int)pem->certlen)) == NULL) {
		tls_error(err, errlen, "BIO_new_mem_buf");
		return -1;
	}
	rc = tls_install_chain(ctx, bio, err, errlen);
	BIO_free(bio);
	if (rc < 0)
		return -1;
	if ((bio = BIO_new_mem_buf(pem->key, (int)pem->keylen)) == NULL) {
		tls_error(err, errlen, "BIO_new_mem_buf");
		return -1;
	}
	pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		tls_error(err, errlen, "private key");
		return -1;
	}
	rc = SSL_CTX_use_PrivateKey(ctx, pkey);
	EVP_PKEY_free(pkey);
	if (rc != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		tls_error(err, errlen, "private key does not match the "
		    "certificate");
		return -1;
	}
	return 0;
}

/* Reads both files and checks, in a scratch SSL_CTX, that they load. */
int
tls_pem_read(struct tls_pem *pem, const char *certfile, const char *keyfile,
    char *err, size_t errlen)
{
	SSL_CTX	*ctx;
	int	 rc;

	memset(pem, 0, sizeof(*pem));
	if (tls_read_file(certfile, &pem->cert, &pem->certlen, err, errlen) < 0 ||
	    tls_read_file(keyfile, &pem->key, &pem->keylen, err, errlen) < 0) {
		tls_pem_free(pem);
		return -1;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_error(err, errlen, "SSL_CTX_new");
		tls_pem_free(pem);
		return -1;
	}
	rc = tls_pem_install(ctx, pem, err, errlen);
	SSL_CTX_free(ctx);
	if (rc < 0)
		tls_pem_free(pem);
	return rc;
}

void
tls_pem_free(struct tls_pem *pem)
{
	if (pem->key) {
		explicit_bzero(pem->key, pem->keylen);
		free(pem->key);
	}
	free(pem->cert);
	memset(pem, 0, sizeof(*pem));
}
