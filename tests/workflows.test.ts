import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { CONFIG_KEYS, PROJECT } from "../components/config";

const ROOT = path.resolve(__dirname, "..", "..");

interface Step {
    readonly uses?: string;
    readonly run?: string;
    readonly with?: Record<string, string>;
    readonly env?: Record<string, string>;
}
interface Job {
    readonly needs?: string | string[];
    readonly if?: string;
    readonly environment?: string;
    readonly permissions?: Record<string, string>;
    readonly strategy?: { "max-parallel"?: number; "fail-fast"?: boolean; matrix: { stack: string[] } };
    readonly steps: Step[];
}
interface Workflow {
    readonly on: Record<string, unknown>;
    readonly permissions?: Record<string, string>;
    readonly jobs: Record<string, Job>;
}

function load<T>(relative: string): T {
    return parse(fs.readFileSync(path.join(ROOT, relative), "utf8")) as T;
}

const packageScripts = (JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> })
    .scripts;
const stacks = fs
    .readdirSync(ROOT)
    .map((name) => /^Pulumi\.([^.]+)\.yaml$/.exec(name)?.[1])
    .filter((stack): stack is string => stack !== undefined)
    .sort();
const workflowFiles = fs.readdirSync(path.join(ROOT, ".github", "workflows")).map((name) => `.github/workflows/${name}`);

/** The one step that runs the shared Pulumi action, and its inputs. */
function pulumiStep(job: Job): Step {
    const steps = job.steps.filter((step) => step.uses === "./.github/actions/pulumi-stack");
    assert.equal(steps.length, 1);
    return steps[0];
}

function assertOfflineChecks(job: Job): void {
    const runs = job.steps.map((step) => step.run).filter((run): run is string => run !== undefined);
    assert.deepEqual(runs, ["bash .ci/run", "npm run validate"]);
}

describe("GitHub workflows", () => {
    it("run only npm scripts that exist and local actions that exist", () => {
        for (const file of [...workflowFiles, ".github/actions/pulumi-stack/action.yml"]) {
            const text = fs.readFileSync(path.join(ROOT, file), "utf8");
            for (const [, script] of text.matchAll(/npm run ([\w:-]+)/g)) {
                assert.ok(script in packageScripts, `${file} runs missing script ${script}`);
            }
            for (const [, local] of text.matchAll(/uses: (\.\/[\w./-]+)/g)) {
                assert.ok(fs.existsSync(path.join(ROOT, local, "action.yml")), `${file} uses missing action ${local}`);
            }
        }
    });

    it("the shared action runs pulumi/actions v7 with the policy pack and maps both tenants' sign-in into the config", () => {
        const action = load<{ runs: { using: string; steps: Step[] } }>(".github/actions/pulumi-stack/action.yml");
        assert.equal(action.runs.using, "composite");
        const pulumi = action.runs.steps.find((step) => step.uses?.startsWith("pulumi/actions@"));
        assert.ok(pulumi?.with);
        assert.equal(pulumi.uses, "pulumi/actions@v7");
        assert.equal(pulumi.with.policyPacks, "${{ inputs.policy-packs }}");
        assert.ok(fs.existsSync(path.join(ROOT, "policy", "PulumiPolicy.yaml")));
        const configMap = parse(pulumi.with["config-map"]) as Record<string, { value: string; secret: boolean }>;
        assert.deepEqual(Object.keys(configMap).sort(), [
            `${PROJECT}:clusterClientId`,
            `${PROJECT}:registryClientId`,
            `${PROJECT}:useOidc`,
        ]);
        for (const key of Object.keys(configMap)) {
            assert.ok(key.slice(PROJECT.length + 1) in CONFIG_KEYS, `${key} is not a config key`);
        }
        assert.equal(configMap[`${PROJECT}:clusterClientId`].value, "${{ inputs.cluster-client-id }}");
        assert.ok(action.runs.steps.some((step) => step.run === "npm ci"));
    });

    it("previews every stack on pull requests, after the offline checks, and not for forks", () => {
        const preview = load<Workflow>(".github/workflows/preview.yml");
        assert.ok("pull_request" in preview.on);
        assertOfflineChecks(preview.jobs.checks);
        const job = preview.jobs.preview;
        assert.equal(job.needs, "checks");
        assert.match(job.if ?? "", /github\.event\.pull_request\.head\.repo\.full_name == github\.repository/);
        assert.deepEqual(job.permissions, { contents: "read", "id-token": "write", "pull-requests": "write" });
        assert.deepEqual(job.strategy?.matrix.stack, stacks);
        const step = pulumiStep(job);
        assert.equal(step.with?.command, "preview");
        assert.equal(step.with?.["comment-on-pr"], "true");
        assert.equal(preview.permissions?.["id-token"], undefined, "the offline checks get no OIDC token");
    });

    it("deploys main to each stack in turn, prod behind its protected environment", () => {
        const deploy = load<Workflow>(".github/workflows/deploy.yml");
        assert.deepEqual((deploy.on.push as { branches: string[] }).branches, ["main"]);
        assertOfflineChecks(deploy.jobs.checks);
        const job = deploy.jobs.deploy;
        assert.equal(job.needs, "checks");
        assert.equal(job.environment, "${{ matrix.stack }}");
        assert.deepEqual(job.strategy?.matrix.stack, ["dev", "prod"]);
        assert.equal(job.strategy?.["max-parallel"], 1);
        assert.equal(job.strategy?.["fail-fast"], true);
        assert.equal(pulumiStep(job).with?.command, "up");
    });

    it("renews the secret on a schedule for every stack without waiting for a reviewer", () => {
        const renew = load<Workflow>(".github/workflows/renew-secret.yml");
        assert.ok(Array.isArray(renew.on.schedule) && (renew.on.schedule as Array<{ cron: string }>)[0].cron.split(" ").length === 5);
        const job = renew.jobs.renew;
        assert.equal(job.environment, "${{ matrix.stack }}-renewal");
        assert.deepEqual(job.strategy?.matrix.stack, stacks);
        assert.equal(job.permissions?.["id-token"], "write");
        assert.equal(pulumiStep(job).with?.command, "up");
    });

    it("every variable the workflows read is documented on the CI/CD page", () => {
        const readme = fs.readFileSync(path.join(ROOT, "docs", "ci-cd.md"), "utf8");
        for (const file of workflowFiles) {
            const text = fs.readFileSync(path.join(ROOT, file), "utf8");
            const names = [
                ...[...text.matchAll(/vars\.([A-Z_]+)/g)].map((m) => m[1]),
                ...[...text.matchAll(/vars\[format\('([A-Z_]+)\{0\}'/g)].map((m) => `${m[1]}<stack>`),
                ...[...text.matchAll(/secrets\.([A-Z_]+)/g)].map((m) => m[1]).filter((name) => name !== "GITHUB_TOKEN"),
            ];
            for (const name of names) {
                assert.ok(readme.includes(`\`${name}\``), `${file} reads ${name}, which docs/ci-cd.md does not document`);
            }
        }
    });
});
