/**
 * The `.dockerconfigjson` text against real clients: the CNCF distribution registry (Debian's `docker-registry`)
 * with htpasswd (bcrypt) basic auth behind TLS on 127.0.0.1, and `skopeo` (containers/image, the library CRI-O
 * and Podman pull with) reading our text as its `--authfile`. Our own parser agreeing with our own writer would
 * prove nothing about the clients that matter.
 */
import * as assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { registryLoginServer } from "../components/azureIds";
import { dockerConfigJson } from "../components/deliveries/imagePullSecret/dockerConfig";
import { loadTlsFixture } from "./fakeArm";
import { freePort } from "./freePort";
import { IMAGE_LABEL, onPath, writeOciImage } from "./twin/registry";

/** Each binary the test runs, and the Debian package that ships it. */
const TOOLS = [
    { binary: "docker-registry", debianPackage: "docker-registry" },
    { binary: "skopeo", debianPackage: "skopeo" },
    { binary: "htpasswd", debianPackage: "apache2-utils" },
] as const;
const INSTALL_HINT = "apt-get install docker-registry skopeo apache2-utils";

const CLIENT_ID = "cccccccc-4444-4444-8444-4444444444c1";
// Shaped like an Entra client secret (`~ . _ -`), plus a colon (registries split basic auth at the first one) and
// non-ASCII letters (bcrypt and base64 see UTF-8 bytes).
const PASSWORD = "Q8~abc.DEF_ghi-JKL:mno~é日本";
// One character off: the registry must tell the two apart.
const WRONG_PASSWORD = `${PASSWORD.slice(0, -1)}X`;
const REPOSITORY = "crosstenant/hello";
const TAG = "v1";

// The whole file should finish in a few seconds; these bound each step so a hang fails instead of stalling CI.
const STEP_TIMEOUT_MS = 10_000;
const REGISTRY_START_MS = 5_000;

interface RunResult {
    readonly exitCode: number;
    readonly stdout: string;
    readonly stderr: string;
}

/** Runs a command to completion without throwing on a non-zero exit, which half of these tests expect. */
function run(binary: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
    return new Promise((resolve, reject) => {
        execFile(binary, args, { env, timeout: STEP_TIMEOUT_MS, encoding: "utf8" }, (error, stdout, stderr) => {
            if (error === null) {
                resolve({ exitCode: 0, stdout, stderr });
            } else if (typeof error.code === "number") {
                resolve({ exitCode: error.code, stdout, stderr });
            } else {
                reject(new Error(`${binary} ${args.join(" ")} did not run to an exit code: ${error.message}\n${stderr}`));
            }
        });
    });
}

function getStatus(port: number, ca: string): Promise<number> {
    return new Promise((resolve, reject) => {
        const request = https.get({ host: "127.0.0.1", port, path: "/v2/", ca, timeout: 1000 }, (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
        });
        request.on("timeout", () => request.destroy(new Error("timed out")));
        request.on("error", reject);
    });
}

describe("dockerConfig with a real registry and registry client", () => {
    let tmp: string | undefined;
    let registry: ChildProcess | undefined;
    let registryLog = "";
    let port = 0;
    let certDir = "";
    let skopeoEnv: NodeJS.ProcessEnv = {};
    let runLabel = "";

    const host = (): string => `127.0.0.1:${port}`;
    const writeAuthFile = (name: string, text: string): string => {
        const file = path.join(tmp!, name);
        fs.writeFileSync(file, text, { mode: 0o600 });
        return file;
    };
    const skopeo = (args: readonly string[]): Promise<RunResult> => run("skopeo", args, skopeoEnv);
    // logrus's text format escapes the quotes inside msg="...".
    const authFailures = (user: string): number => {
        const quoted = `\\\\?"${user.replace(/[^A-Za-z0-9]/g, "\\$&")}\\\\?"`;
        return registryLog.match(new RegExp(`error authenticating user ${quoted}: authentication failure`, "g"))?.length ?? 0;
    };
    /** The registry logs before it answers, but the pipe may deliver the line a moment after skopeo has exited. */
    const waitForAuthFailures = async (user: string, count: number): Promise<number> => {
        const deadline = Date.now() + 2000;
        while (authFailures(user) < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
        return authFailures(user);
    };

    before(async function () {
        const missing = TOOLS.filter((tool) => !onPath(tool.binary));
        if (missing.length > 0) {
            const what = missing.map((tool) => `${tool.binary} (Debian package ${tool.debianPackage})`).join(", ");
            const message = `the real registry client test needs ${what}, not found on PATH; install with: ${INSTALL_HINT}`;
            // The pipeline installs them (.ci/run): missing there means the check silently stopped running.
            if ((process.env.CI ?? "") !== "") throw new Error(`${message} (CI is set, so this is a failure, not a skip)`);
            console.warn(`      skipped: ${message}`);
            this.skip();
        }

        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "dockerconfig-registry-"));
        const { cert, key } = loadTlsFixture();
        fs.writeFileSync(path.join(tmp, "registry-cert.pem"), cert);
        fs.writeFileSync(path.join(tmp, "registry-key.pem"), key, { mode: 0o600 });
        // containers/image trusts every *.crt in a --cert-dir, so TLS is verified as it would be against ACR.
        certDir = path.join(tmp, "certs");
        fs.mkdirSync(certDir);
        fs.writeFileSync(path.join(certDir, "ca.crt"), cert);

        const htpasswd = await run("htpasswd", ["-Bbn", CLIENT_ID, PASSWORD], { PATH: process.env.PATH });
        assert.equal(htpasswd.exitCode, 0, `htpasswd failed: ${htpasswd.stderr}`);
        fs.writeFileSync(path.join(tmp, "htpasswd"), htpasswd.stdout, { mode: 0o600 });

        port = await freePort();
        // JSON is YAML, so no YAML writer is needed.
        const config = {
            version: "0.1",
            log: { level: "error", accesslog: { disabled: true } },
            storage: { filesystem: { rootdirectory: path.join(tmp, "storage") } },
            http: {
                addr: host(),
                secret: randomUUID(),
                tls: { certificate: path.join(tmp, "registry-cert.pem"), key: path.join(tmp, "registry-key.pem") },
            },
            auth: { htpasswd: { realm: "dockerconfig-test", path: path.join(tmp, "htpasswd") } },
        };
        const configFile = path.join(tmp, "registry.yml");
        fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
        const started = spawn("docker-registry", ["serve", configFile], {
            stdio: ["ignore", "pipe", "pipe"],
            env: { PATH: process.env.PATH },
        });
        registry = started;
        started.stdout.setEncoding("utf8").on("data", (chunk: string) => (registryLog += chunk));
        started.stderr.setEncoding("utf8").on("data", (chunk: string) => (registryLog += chunk));

        const deadline = Date.now() + REGISTRY_START_MS;
        for (;;) {
            if (started.exitCode !== null || started.signalCode !== null) {
                assert.fail(`docker-registry exited (${started.exitCode ?? started.signalCode}) before answering:\n${registryLog}`);
            }
            try {
                // 401 is the registry up, with auth on, refusing an anonymous client.
                assert.equal(await getStatus(port, cert), 401, `GET /v2/ without credentials must be refused:\n${registryLog}`);
                break;
            } catch (error) {
                if (error instanceof assert.AssertionError) throw error;
                if (Date.now() > deadline)
                    assert.fail(`docker-registry did not answer on ${host()} within ${REGISTRY_START_MS} ms:\n${registryLog}`);
                await new Promise((resolve) => setTimeout(resolve, 50));
            }
        }

        // A home of its own, so skopeo cannot fall back to credentials in ~/.docker/config.json or
        // ~/.config/containers/auth.json, nor to the machine's registries.conf mirrors.
        const home = path.join(tmp, "home");
        fs.mkdirSync(home);
        fs.writeFileSync(path.join(tmp, "registries.conf"), "");
        fs.writeFileSync(path.join(tmp, "policy.json"), JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
        skopeoEnv = { PATH: process.env.PATH, HOME: home, TMPDIR: tmp, CONTAINERS_REGISTRIES_CONF: path.join(tmp, "registries.conf") };

        runLabel = randomUUID();
        writeOciImage(path.join(tmp, "oci"), TAG, runLabel);
    });

    after(async () => {
        const started = registry;
        if (started !== undefined && started.exitCode === null && started.signalCode === null) {
            const exited = new Promise((resolve) => started.once("exit", resolve));
            started.kill("SIGTERM");
            const killTimer = setTimeout(() => started.kill("SIGKILL"), 2000);
            await exited;
            clearTimeout(killTimer);
        }
        if (tmp !== undefined) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("lets skopeo push, inspect and list tags with the generated file as its only credentials", async () => {
        // Several registries in one file, as a cluster pulling from more than one would have.
        const authFile = writeAuthFile(
            "auth.json",
            dockerConfigJson(
                [registryLoginServer("Contoso1", "public"), host(), registryLoginServer("contoso2", "usgovernment")],
                CLIENT_ID,
                PASSWORD,
            ),
        );
        const image = `docker://${host()}/${REPOSITORY}:${TAG}`;

        const push = await skopeo([
            "--policy",
            path.join(tmp!, "policy.json"),
            "copy",
            "--dest-authfile",
            authFile,
            "--dest-cert-dir",
            certDir,
            `oci:${path.join(tmp!, "oci")}:${TAG}`,
            image,
        ]);
        assert.equal(push.exitCode, 0, `skopeo copy failed:\n${push.stderr}\nregistry:\n${registryLog}`);

        const inspect = await skopeo(["inspect", "--authfile", authFile, "--cert-dir", certDir, image]);
        assert.equal(inspect.exitCode, 0, `skopeo inspect failed:\n${inspect.stderr}`);
        const inspected = JSON.parse(inspect.stdout) as { Labels?: Record<string, string>; RepoTags?: string[] };
        assert.equal(inspected.Labels?.[IMAGE_LABEL], runLabel, "inspect must read back the image this run pushed");
        assert.deepEqual(inspected.RepoTags, [TAG]);

        const tags = await skopeo(["list-tags", "--authfile", authFile, "--cert-dir", certDir, `docker://${host()}/${REPOSITORY}`]);
        assert.equal(tags.exitCode, 0, `skopeo list-tags failed:\n${tags.stderr}`);
        assert.deepEqual((JSON.parse(tags.stdout) as { Tags?: string[] }).Tags, [TAG]);

        assert.equal(authFailures(CLIENT_ID), 0, `the registry refused the right password:\n${registryLog}`);
    });

    it("makes skopeo fail with an authentication error when the file holds a wrong password", async () => {
        const authFile = writeAuthFile("wrong-auth.json", dockerConfigJson([host()], CLIENT_ID, WRONG_PASSWORD));
        const before = authFailures(CLIENT_ID);

        for (const args of [
            ["inspect", "--authfile", authFile, "--cert-dir", certDir, `docker://${host()}/${REPOSITORY}:${TAG}`],
            ["list-tags", "--authfile", authFile, "--cert-dir", certDir, `docker://${host()}/${REPOSITORY}`],
        ]) {
            const result = await skopeo(args);
            assert.notEqual(result.exitCode, 0, `skopeo ${args[0]} succeeded with a wrong password:\n${result.stdout}`);
            assert.match(result.stderr, /unauthorized: authentication required/, `skopeo ${args[0]} failed for another reason`);
            assert.ok(!result.stdout.includes(runLabel), "no image data may come back without the right password");
        }
        // skopeo's message is the same with no credentials at all; the registry's log shows ours were sent and refused.
        assert.equal(
            (await waitForAuthFailures(CLIENT_ID, before + 2)) - before,
            2,
            `the registry did not see ${CLIENT_ID}'s credentials:\n${registryLog}`,
        );
    });

    it("sends nothing when the file has no entry for the registry's host:port", async () => {
        const authFile = writeAuthFile(
            "other-host.json",
            dockerConfigJson([registryLoginServer("contoso1", "public")], CLIENT_ID, PASSWORD),
        );
        const before = authFailures("");
        const result = await skopeo(["list-tags", "--authfile", authFile, "--cert-dir", certDir, `docker://${host()}/${REPOSITORY}`]);
        assert.notEqual(result.exitCode, 0);
        assert.match(result.stderr, /unauthorized: authentication required/);
        assert.equal((await waitForAuthFailures("", before + 1)) - before, 1, `expected one anonymous attempt:\n${registryLog}`);
    });
});
