/**
 * A certificate authority made for one test run, so that clients that trust only real roots plus one extra file (Node:
 * `NODE_EXTRA_CA_CERTS`, read once at process start; Go: `SSL_CERT_FILE`, which replaces the system roots) accept the
 * Azure twin as `login.microsoftonline.com`, `management.azure.com` and `<registry>.azurecr.io`.
 *
 * What it imitates: the public web PKI as those clients check it. Node's TLS (OpenSSL) and Go's crypto/x509 match the
 * host name against the subjectAltName only (Go ignores the subject CN since Go 1.15; RFC 6125), and want
 * `basicConstraints CA:TRUE` + `keyCertSign` on the issuer and `serverAuth` on the leaf. Read in Node's `tls` docs
 * (`checkServerIdentity`, `NODE_EXTRA_CA_CERTS`) and Go's `crypto/x509` docs (`SSL_CERT_FILE`, `Certificate.Verify`).
 *
 * Made with the `openssl` CLI (OpenSSL 3: `req -x509 -CA` signs in one call); Node's `crypto` cannot build
 * certificates. EC P-256 keys: a leaf costs a few milliseconds, so leaves are made on first use, one per host.
 */
import { execFile, execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A PEM certificate and its PEM private key. */
export interface CertificateAndKey {
    readonly cert: string;
    readonly key: string;
}

/** The run's CA: its certificate file, and a leaf per host signed by it. */
export interface TestCa {
    /** The CA certificate (PEM), for `NODE_EXTRA_CA_CERTS`, `SSL_CERT_FILE` or a client's `ca` option. */
    readonly caFile: string;
    /** The CA certificate's PEM text. */
    readonly caPem: string;
    /** A server certificate for `host` (a DNS name or an IP address; SAN = host), made on first use, then cached. */
    leaf(host: string): Promise<CertificateAndKey>;
}

const VALID_DAYS = "30";
const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
// Host names go into file names and openssl arguments: allow only what a DNS name or an IP address holds.
const SAFE_HOST = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$|^[0-9a-f:]+$/i;

/** Creates the CA in `dir` (created if missing): `ca.pem`, `ca.key`; leaves go to `dir/hosts/`. */
export function createTestCa(dir: string): TestCa {
    fs.mkdirSync(path.join(dir, "hosts"), { recursive: true });
    const caFile = path.join(dir, "ca.pem");
    const caKey = path.join(dir, "ca.key");
    execFileSync(
        "openssl",
        [
            "req",
            "-x509",
            ...EC_KEY,
            "-keyout",
            caKey,
            "-out",
            caFile,
            "-days",
            VALID_DAYS,
            "-subj",
            `/CN=Azure twin test CA ${process.pid}-${Date.now()}`,
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
    );
    const caPem = fs.readFileSync(caFile, "utf8");
    const leaves = new Map<string, Promise<CertificateAndKey>>();

    const makeLeaf = async (host: string): Promise<CertificateAndKey> => {
        if (!SAFE_HOST.test(host)) throw new Error(`refusing to make a certificate for host ${JSON.stringify(host)}`);
        const certFile = path.join(dir, "hosts", `${host.replace(/:/g, "_")}.pem`);
        const keyFile = path.join(dir, "hosts", `${host.replace(/:/g, "_")}.key`);
        const san = net.isIP(host) ? `IP:${host}` : `DNS:${host}`;
        await run("openssl", [
            "req",
            "-x509",
            ...EC_KEY,
            "-keyout",
            keyFile,
            "-out",
            certFile,
            "-days",
            VALID_DAYS,
            "-subj",
            `/CN=${host}`,
            "-CA",
            caFile,
            "-CAkey",
            caKey,
            "-addext",
            `subjectAltName=${san}`,
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-addext",
            "keyUsage=critical,digitalSignature",
            "-addext",
            "extendedKeyUsage=serverAuth",
        ]);
        return { cert: fs.readFileSync(certFile, "utf8"), key: fs.readFileSync(keyFile, "utf8") };
    };

    return {
        caFile,
        caPem,
        leaf(host: string): Promise<CertificateAndKey> {
            const key = host.toLowerCase();
            let pending = leaves.get(key);
            if (pending === undefined) {
                pending = makeLeaf(key);
                // A failed attempt is not cached: the next connection tries again.
                pending.catch(() => leaves.delete(key));
                leaves.set(key, pending);
            }
            return pending;
        },
    };
}
