import * as assert from "node:assert/strict";
import type { AzureEnvironment } from "../components/azureIds";
import { REGISTRY_LOGIN_SUFFIXES, registryLoginServer } from "../components/azureIds";
import { dockerConfigJson, type DockerConfig } from "../components/deliveries/imagePullSecret/dockerConfig";

const CLIENT_ID = "cccccccc-4444-4444-8444-4444444444c1";
// Entra client secrets use `~ . _ -`; the colon and the non-ASCII letters check that the first-colon split and
// the UTF-8 encoding survive the round trip.
const PASSWORD = "Q8~abc.DEF_ghi-JKL:mno~é日本";

function parse(text: string): DockerConfig {
    return JSON.parse(text) as DockerConfig;
}

function base64(text: string): string {
    return Buffer.from(text, "utf8").toString("base64");
}

function errorOf(run: () => unknown): Error {
    try {
        run();
    } catch (error) {
        assert.ok(error instanceof Error, `expected an Error, got ${String(error)}`);
        return error;
    }
    assert.fail("expected an error, got none");
}

function decodeAuth(auth: string): string {
    return Buffer.from(auth, "base64").toString("utf8");
}

describe("dockerConfig", () => {
    describe("registryLoginServer", () => {
        for (const [environment, expected] of [
            ["public", "contosoimages.azurecr.io"],
            ["usgovernment", "contosoimages.azurecr.us"],
            ["china", "contosoimages.azurecr.cn"],
        ] as const satisfies readonly (readonly [AzureEnvironment, string])[]) {
            it(`gives the ${environment} cloud's login server, in lower case`, () => {
                assert.equal(registryLoginServer("ContosoImages", environment), expected);
            });
        }

        it("knows a suffix for every Azure environment", () => {
            assert.deepEqual(Object.keys(REGISTRY_LOGIN_SUFFIXES).sort(), ["china", "public", "usgovernment"]);
        });
    });

    describe("dockerConfigJson", () => {
        it("writes exactly the documented shape, without whitespace, in a fixed key order", () => {
            // A golden text: any change to key order, spacing or encoding would rewrite every Secret on the next deployment.
            const auth = base64(`${CLIENT_ID}:secret1`);
            assert.equal(
                dockerConfigJson(["contoso1.azurecr.io"], CLIENT_ID, "secret1"),
                `{"auths":{"contoso1.azurecr.io":{"username":"${CLIENT_ID}","password":"secret1","auth":"${auth}"}}}`,
            );
        });

        it("gives one entry per distinct login server, case-insensitively, keyed in lower case and sorted", () => {
            const text = dockerConfigJson(
                ["zeta.azurecr.io", "Alpha.azurecr.io", "alpha.AZURECR.io", "mid.azurecr.us", "zeta.azurecr.io"],
                CLIENT_ID,
                PASSWORD,
            );
            assert.deepEqual(Object.keys(parse(text).auths), ["alpha.azurecr.io", "mid.azurecr.us", "zeta.azurecr.io"]);
        });

        it("gives byte-for-byte the same text whatever the order and case of the servers", () => {
            const servers = ["b.azurecr.io", "a.azurecr.cn", "c.azurecr.us"];
            const first = dockerConfigJson(servers, CLIENT_ID, PASSWORD);
            assert.equal(dockerConfigJson(servers, CLIENT_ID, PASSWORD), first);
            assert.equal(dockerConfigJson([...servers].reverse(), CLIENT_ID, PASSWORD), first);
            assert.equal(dockerConfigJson(["C.AZURECR.US", "a.azurecr.cn", "B.azurecr.io", "a.azurecr.cn"], CLIENT_ID, PASSWORD), first);
        });

        it("accepts the login servers of every cloud in one document", () => {
            const servers = (["public", "usgovernment", "china"] as const).map((environment) =>
                registryLoginServer("Contoso1", environment),
            );
            assert.deepEqual(Object.keys(parse(dockerConfigJson(servers, CLIENT_ID, PASSWORD)).auths), [
                "contoso1.azurecr.cn",
                "contoso1.azurecr.io",
                "contoso1.azurecr.us",
            ]);
        });

        it("accepts a host with a port, which is how a registry not on 443 is keyed", () => {
            assert.deepEqual(Object.keys(parse(dockerConfigJson(["127.0.0.1:5000", "Registry.Example:8443"], CLIENT_ID, PASSWORD)).auths), [
                "127.0.0.1:5000",
                "registry.example:8443",
            ]);
        });

        it("stores the username and password as given and `auth` as standard base64 of username:password", () => {
            const entries = Object.values(parse(dockerConfigJson(["a.azurecr.io", "b.azurecr.io"], CLIENT_ID, PASSWORD)).auths);
            assert.equal(entries.length, 2);
            for (const entry of entries) {
                assert.deepEqual(Object.keys(entry), ["username", "password", "auth"]);
                assert.equal(entry.username, CLIENT_ID);
                assert.equal(entry.password, PASSWORD);
                // Padded, not URL-safe: what Go's base64.StdEncoding (the kubelet, the Docker CLI) decodes.
                assert.match(entry.auth, /^[A-Za-z0-9+/]+={0,2}$/);
                assert.equal(entry.auth.length % 4, 0);
                assert.equal(decodeAuth(entry.auth), `${CLIENT_ID}:${PASSWORD}`);
            }
        });

        for (const password of ["a~b.c_d-e", "ends-with-colon:", ":starts:with:colons", "naïve-пароль-密码", "x"]) {
            it(`round-trips the password ${JSON.stringify(password)} through \`auth\``, () => {
                const entry = parse(dockerConfigJson(["a.azurecr.io"], CLIENT_ID, password)).auths["a.azurecr.io"];
                assert.ok(entry);
                const decoded = decodeAuth(entry.auth);
                // Registries split at the first colon only, so everything after it is the password.
                const colon = decoded.indexOf(":");
                assert.equal(decoded.slice(0, colon), CLIENT_ID);
                assert.equal(decoded.slice(colon + 1), password);
                assert.equal(entry.password, password);
            });
        }

        for (const [label, servers, username, password, message] of [
            ["no login servers", [], CLIENT_ID, PASSWORD, /at least one registry login server/],
            [
                "an https URL",
                ["https://contoso1.azurecr.io"],
                CLIENT_ID,
                PASSWORD,
                /"https:\/\/contoso1\.azurecr\.io" is not a registry host name/,
            ],
            [
                "a host with a path",
                ["contoso1.azurecr.io/team"],
                CLIENT_ID,
                PASSWORD,
                /"contoso1\.azurecr\.io\/team" is not a registry host name/,
            ],
            ["a trailing slash", ["contoso1.azurecr.io/"], CLIENT_ID, PASSWORD, /"contoso1\.azurecr\.io\/" is not a registry host name/],
            ["an empty server", [""], CLIENT_ID, PASSWORD, /"" is not a registry host name/],
            ["a bad server among good ones", ["a.azurecr.io", "b.azurecr.io/x"], CLIENT_ID, PASSWORD, /"b\.azurecr\.io\/x" is not/],
            ["a colon in the username", ["a.azurecr.io"], "client:id", PASSWORD, /no colon \(got "client:id"\)/],
            ["an empty username", ["a.azurecr.io"], "", PASSWORD, /username must be non-empty/],
            ["an empty password", ["a.azurecr.io"], CLIENT_ID, "", /the password is empty/],
        ] as const) {
            it(`rejects ${label} without echoing the password`, () => {
                const error = errorOf(() => dockerConfigJson(servers, username, password));
                assert.match(error.message, message);
                if (password !== "") {
                    for (const secret of [password, base64(password), base64(`${username}:${password}`)]) {
                        assert.ok(!error.message.includes(secret), `the message echoes the password: ${error.message}`);
                    }
                }
            });
        }
    });
});
