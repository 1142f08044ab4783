import * as assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { CONFIG_KEYS, parseStackConfig, type RawStackConfig } from "../components/config";
import { ValidationError } from "../components/validation";
import { SUB_A, SUB_B1, SUB_B2, TENANT_A, TENANT_B, registryId } from "./mocks";

/** The repository root, found from the compiled test's location. */
const ROOT = path.resolve(__dirname, "..", "..");

const valid: RawStackConfig = {
    clusterTenantId: TENANT_A,
    clusterSubscriptionId: SUB_A,
    clusterResourceGroup: "rg-aks",
    clusterName: "aks-prod",
    registryTenantId: TENANT_B,
    registryIds: JSON.stringify([registryId(SUB_B1, "rg-images", "contosoimages"), registryId(SUB_B2, "rg-shared", "contososhared")]),
};

const plainSecret = (value: string): pulumi.Output<string> => pulumi.secret(value);

function problemsOf(raw: RawStackConfig): ValidationError {
    try {
        parseStackConfig(raw, "prod", plainSecret);
    } catch (error) {
        assert.ok(error instanceof ValidationError, `expected a ValidationError, got ${String(error)}`);
        return error;
    }
    assert.fail("expected the config to be rejected");
}

describe("stack config", () => {
    it("accepts just the required keys and applies every default", () => {
        const settings = parseStackConfig(valid, "prod", plainSecret);
        assert.equal(settings.cluster.tenantId, TENANT_A);
        assert.equal(settings.cluster.clusterName, "aks-prod");
        assert.equal(settings.registry.role, "AcrPullAndRepositoryReader");
        assert.deepEqual(settings.registry.repositories, []);
        assert.deepEqual(
            settings.registry.registries.map((r) => [r.subscriptionId, r.registryName]),
            [
                [SUB_B1, "contosoimages"],
                [SUB_B2, "contososhared"],
            ],
        );
        assert.equal(settings.applicationName, "aks-prod-acr-pull-prod");
        assert.deepEqual(settings.applicationOwners, []);
        assert.equal(settings.secretLifetimeDays, 180);
        assert.equal(settings.secretRenewBeforeDays, 30);
        assert.equal(settings.azureEnvironment, "public");
        assert.deepEqual(settings.cluster.credentials, { clientId: undefined, clientSecret: undefined, useOidc: false });
    });

    it("reads every optional key", async () => {
        const owner = "cccccccc-0000-4000-8000-00000000000c";
        const settings = parseStackConfig(
            {
                ...valid,
                registryRole: "ContainerRegistryRepositoryReader",
                applicationName: "Contoso AKS pull",
                applicationOwners: JSON.stringify([owner]),
                secretLifetimeDays: "90",
                secretRenewBeforeDays: "14",
                azureEnvironment: "usgovernment",
                clusterClientId: TENANT_A,
                clusterClientSecret: "cluster-ci-secret",
                registryClientId: TENANT_B,
                registryClientSecret: "registry-ci-secret",
            },
            "prod",
            plainSecret,
        );
        assert.equal(settings.registry.role, "ContainerRegistryRepositoryReader");
        assert.equal(settings.applicationName, "Contoso AKS pull");
        assert.deepEqual(settings.applicationOwners, [owner]);
        assert.equal(settings.secretLifetimeDays, 90);
        assert.equal(settings.secretRenewBeforeDays, 14);
        assert.equal(settings.azureEnvironment, "usgovernment");
        assert.equal(settings.cluster.credentials.clientId, TENANT_A);
        assert.ok(settings.registry.credentials.clientSecret);
        assert.equal(await pulumi.isSecret(settings.registry.credentials.clientSecret), true);
    });

    it("names a missing required key and the pulumi config set command that fixes it", () => {
        const { clusterName: _omit, ...raw } = valid;
        const error = problemsOf(raw);
        assert.equal(error.problems.length, 1);
        assert.match(
            error.message,
            /^Invalid stack configuration for aks-acr-cross-tenant \(stack "prod"\): 1 problem; nothing was deployed/,
        );
        assert.match(error.message, /clusterName: missing; expected an AKS cluster name/);
        assert.match(error.message, /pulumi config set aks-acr-cross-tenant:clusterName <value> --stack prod/);
    });

    it("tells how to set a missing list item by path", () => {
        const { registryIds: _omit, ...raw } = valid;
        assert.match(problemsOf(raw).message, /registryIds: missing; .*pulumi config set --path 'registryIds\[0\]' <value> --stack prod/);
    });

    it("reports every problem at once, each with key, value and expected form", () => {
        const error = problemsOf({
            clusterTenantId: "contoso.onmicrosoft.com",
            clusterSubscriptionId: "not-a-guid",
            clusterResourceGroup: "rg aks",
            clusterName: "-aks",
            registryTenantId: "tenant-b",
            registryIds: JSON.stringify([
                registryId(SUB_B1, "rg", "contoso-images"),
                registryId(SUB_B1, "rg", "contosoimages"),
                registryId(SUB_B1, "RG", "CONTOSOIMAGES").toLowerCase(),
                "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/s",
            ]),
            registryRole: "Reader",
            applicationOwners: JSON.stringify(["someone@contoso.com"]),
            secretLifetimeDays: "1000",
            secretRenewBeforeDays: "0",
            azureEnvironment: "germany",
            useOidc: "yes",
        });
        const byKey = new Map(error.problems.map((p) => [p.key, p]));
        const expectations: Array<[string, RegExp, RegExp]> = [
            ["clusterTenantId", /"contoso\.onmicrosoft\.com"/, /a tenant id: a GUID/],
            ["clusterSubscriptionId", /"not-a-guid"/, /a subscription id: a GUID/],
            ["clusterResourceGroup", /"rg aks"/, /1-90 letters/],
            ["clusterName", /"-aks"/, /1-63 letters/],
            ["registryTenantId", /"tenant-b"/, /a tenant id: a GUID/],
            ["registryIds[0]", /contoso-images/, /5-50 letters and digits/],
            ["registryIds[2]", /contosoimages/, /repeats registryIds\[1\] \(ids compare case-insensitively\)/],
            ["registryIds[3]", /storageAccounts/, /not a container registry resource id/],
            ["registryRole", /"Reader"/, /one of AcrPullAndRepositoryReader .*, AcrPull .*, ContainerRegistryRepositoryReader/],
            ["applicationOwners[0]", /someone@contoso\.com/, /Entra object id/],
            ["secretLifetimeDays", /1000/, /integer from 1 to 730/],
            ["secretRenewBeforeDays", /0/, /at least 1/],
            ["azureEnvironment", /"germany"/, /public, usgovernment, china/],
            ["useOidc", /"yes"/, /true or false/],
        ];
        for (const [key, value, expected] of expectations) {
            const problem = byKey.get(key);
            assert.ok(problem, `no problem reported for ${key}; got ${[...byKey.keys()].join(", ")}`);
            assert.match(problem.value ?? "", value, key);
            assert.match(problem.expected, expected, key);
        }
        assert.equal(error.problems.length, expectations.length, error.message);
        assert.match(error.message.split("\n")[0], /14 problems; nothing was deployed/);
    });

    it("requires two different tenants, compared case-insensitively", () => {
        const error = problemsOf({ ...valid, registryTenantId: TENANT_A.toUpperCase() });
        assert.equal(error.problems.length, 1);
        assert.match(
            error.message,
            new RegExp(`registryTenantId: got "${TENANT_A.toUpperCase()}"; expected a tenant different from clusterTenantId`),
        );
    });

    it("reports a registry named twice in different resource groups", () => {
        const error = problemsOf({
            ...valid,
            registryIds: JSON.stringify([registryId(SUB_B1, "a", "contoso1"), registryId(SUB_B2, "b", "Contoso1")]),
        });
        assert.match(error.message, /registryIds\[1\].*globally unique; "Contoso1" repeats the name in registryIds\[0\]/);
    });

    it("rejects an empty registry list and a plain string where a list belongs", () => {
        assert.match(problemsOf({ ...valid, registryIds: "[]" }).message, /registryIds: got \[\]; expected at least one registry id/);
        assert.match(
            problemsOf({ ...valid, registryIds: registryId(SUB_B1, "rg", "contoso1") }).message,
            /registryIds: got ".*contoso1"; expected .* as a YAML list; set items with: pulumi config set --path 'registryIds\[0\]'/,
        );
    });

    it("requires renew-before to be shorter than the lifetime", () => {
        const error = problemsOf({ ...valid, secretLifetimeDays: "30" });
        assert.equal(error.problems.length, 1);
        assert.match(error.message, /secretRenewBeforeDays: got 30; expected fewer days than secretLifetimeDays \(30\)/);
        assert.match(problemsOf({ ...valid, secretLifetimeDays: "12.5" }).message, /secretLifetimeDays: got "12\.5"/);
    });

    it("flags unknown keys and suggests the closest one", () => {
        assert.match(
            problemsOf({ ...valid, registryId: "x" }).message,
            /registryId: got an unknown key; expected a known key; did you mean registryIds\?/,
        );
    });

    it("checks per-tenant credentials and never echoes a secret", () => {
        const secret = "super-secret-value-123";
        const cases: Array<[RawStackConfig, RegExp]> = [
            [
                { ...valid, clusterClientSecret: secret },
                /clusterClientId: missing; expected the client id that clusterClientSecret belongs to/,
            ],
            [
                { ...valid, registryClientId: TENANT_B },
                /registryClientSecret: missing; expected a client secret for registryClientId \(or useOidc: true\); set it with: pulumi config set --secret aks-acr-cross-tenant:registryClientSecret/,
            ],
            [
                { ...valid, useOidc: "true", clusterClientId: TENANT_A, registryClientId: TENANT_B, clusterClientSecret: secret },
                /clusterClientSecret: got a secret \(value hidden\); expected no client secret when useOidc is true/,
            ],
            [{ ...valid, useOidc: "true" }, /clusterClientId: missing; expected the client id to federate as when useOidc is true/],
            [
                { ...valid, clusterClientId: "app", clusterClientSecret: secret },
                /clusterClientId: got "app"; expected a client \(application\) id/,
            ],
        ];
        for (const [raw, expected] of cases) {
            const error = problemsOf(raw);
            assert.match(error.message, expected);
            assert.ok(!error.message.includes(secret), "the secret leaked into the error");
        }
    });

    it("reads the cluster switch settings, defaulting to switching with deletion refused", () => {
        const defaults = parseStackConfig(valid, "prod", plainSecret).delivery;
        assert.deepEqual(defaults, {
            kind: "clusterServicePrincipal",
            roles: [],
            deletePolicy: "refuse",
            restore: undefined,
            timeoutMinutes: 60,
        });
        assert.deepEqual(parseStackConfig({ ...valid, credentialDelivery: "none" }, "prod", plainSecret).delivery, { kind: "none" });
        const subnet = `/subscriptions/${SUB_A}/resourceGroups/rg-net/providers/Microsoft.Network/virtualNetworks/vnet/subnets/aks`;
        const configured = parseStackConfig(
            {
                ...valid,
                clusterRoleAssignments: JSON.stringify([{ scope: subnet, role: "NetworkContributor" }]),
                clusterDeletePolicy: "restore",
                restoreClientId: TENANT_B,
                restoreClientSecret: "restore-secret",
                resetTimeoutMinutes: "90",
            },
            "prod",
            plainSecret,
        ).delivery;
        assert.equal(configured.kind, "clusterServicePrincipal");
        assert.deepEqual(configured.roles, [
            { scope: subnet, role: "NetworkContributor", roleGuid: "4d97b98b-1d4f-4787-a291-c67834d212e7", subscriptionId: SUB_A },
        ]);
        assert.equal(configured.restore?.clientId, TENANT_B);
        assert.equal(configured.timeoutMinutes, 90);
    });

    it("reads the image pull secret settings, with the default service account and secret name", async () => {
        const kubeconfig = "apiVersion: v1\nkind: Config\nclusters: []\nusers: []\ncontexts: []\n";
        const minimal = parseStackConfig(
            { ...valid, credentialDelivery: "imagePullSecret", pullSecretNamespaces: JSON.stringify(["apps", "jobs"]) },
            "prod",
            plainSecret,
        ).delivery;
        assert.deepEqual(minimal, {
            kind: "imagePullSecret",
            namespaces: ["apps", "jobs"],
            target: "serviceAccounts",
            serviceAccounts: ["default"],
            secretName: "acr-cross-tenant-pull",
            kubeconfig: undefined,
        });
        const full = parseStackConfig(
            {
                ...valid,
                credentialDelivery: "imagePullSecret",
                pullSecretNamespaces: JSON.stringify(["apps"]),
                pullSecretServiceAccounts: JSON.stringify(["default", "builder.ci"]),
                pullSecretName: "contoso-pull",
                kubeconfig,
            },
            "prod",
            plainSecret,
        ).delivery;
        assert.equal(full.kind, "imagePullSecret");
        assert.deepEqual(full.serviceAccounts, ["default", "builder.ci"]);
        assert.equal(full.secretName, "contoso-pull");
        assert.ok(full.kubeconfig && (await pulumi.isSecret(full.kubeconfig)), "the kubeconfig must stay a secret");
        // The defaults Pulumi.yaml declares reach a program as values: they are not "set" for another delivery.
        const withDefaults = parseStackConfig(
            { ...valid, pullSecretServiceAccounts: JSON.stringify(["default"]), pullSecretName: "acr-cross-tenant-pull", kubeconfig: "" },
            "prod",
            plainSecret,
        ).delivery;
        assert.equal(withDefaults.kind, "clusterServicePrincipal");
        const pods = parseStackConfig(
            {
                ...valid,
                credentialDelivery: "imagePullSecret",
                pullSecretNamespaces: JSON.stringify(["apps"]),
                pullSecretTarget: "pods",
                pullSecretServiceAccounts: JSON.stringify(["default"]),
            },
            "prod",
            plainSecret,
        ).delivery;
        assert.deepEqual(pods.kind === "imagePullSecret" && [pods.target, pods.serviceAccounts], ["pods", []]);
    });

    it("names a bad pullSecretTarget, and service accounts listed for pod injection, in one error", () => {
        const bad = (extra: Record<string, string>): string => {
            try {
                parseStackConfig(
                    { ...valid, credentialDelivery: "imagePullSecret", pullSecretNamespaces: JSON.stringify(["apps"]), ...extra },
                    "prod",
                    plainSecret,
                );
            } catch (error) {
                return String(error);
            }
            return "no error";
        };
        assert.match(bad({ pullSecretTarget: "nodes" }), /pullSecretTarget: got "nodes"; expected one of serviceAccounts .*, pods /);
        assert.match(
            bad({ pullSecretTarget: "pods", pullSecretServiceAccounts: JSON.stringify(["builder"]), pullSecretName: "Bad" }),
            /2 problems[\s\S]*pullSecretServiceAccounts: got \["builder"\]; expected no service accounts with pullSecretTarget pods[\s\S]*pullSecretName: got "Bad"/,
        );
        assert.throws(
            () => parseStackConfig({ ...valid, pullSecretTarget: "pods" }, "prod", plainSecret),
            /pullSecretTarget: got "pods"; expected no pullSecretTarget unless credentialDelivery is imagePullSecret/,
        );
    });

    it("checks the cluster switch settings, naming each problem", () => {
        const secret = "restore-secret-value";
        const cases: Array<[RawStackConfig, RegExp]> = [
            [{ ...valid, clusterDeletePolicy: "delete" }, /clusterDeletePolicy: got "delete"; expected one of refuse, restore, leave/],
            [
                { ...valid, clusterDeletePolicy: "restore" },
                /restoreClientId: missing; expected the client id to restore[\s\S]*restoreClientSecret: missing; expected its client secret.*pulumi config set --secret aks-acr-cross-tenant:restoreClientSecret/,
            ],
            [
                { ...valid, restoreClientSecret: secret },
                /restoreClientSecret: got a secret \(value hidden\); expected no restore credentials unless clusterDeletePolicy is restore \(it is "refuse"\)/,
            ],
            [{ ...valid, resetTimeoutMinutes: "2" }, /resetTimeoutMinutes: got 2; expected an integer from 5 to 1440/],
            [
                { ...valid, clusterRoleAssignments: JSON.stringify([{ scope: "/subscriptions/x", role: "NetworkContributor" }]) },
                /clusterRoleAssignments\[0\]: got .*; expected \{ scope: \/subscriptions\/<guid>/,
            ],
            [
                { ...valid, clusterRoleAssignments: JSON.stringify([{ scope: `/subscriptions/${SUB_A}`, role: "Owner" }]) },
                /clusterRoleAssignments\[0\]: .*role: NetworkContributor \| Contributor \| Reader \| <role definition GUID>/,
            ],
        ];
        for (const [raw, expected] of cases) {
            const error = problemsOf(raw);
            assert.match(error.message, expected);
            assert.ok(!error.message.includes(secret));
        }
    });

    it("names credentialDelivery for a stack file that still sets switchCluster", () => {
        for (const [value, replacement] of [
            ["false", "credentialDelivery: none"],
            ["true", "credentialDelivery: clusterServicePrincipal"],
        ]) {
            const error = problemsOf({ ...valid, switchCluster: value });
            assert.deepEqual(
                error.problems.map((p) => p.key),
                ["switchCluster"],
            );
            assert.match(
                error.message,
                new RegExp(`switchCluster: got "${value}"; expected credentialDelivery instead .*${replacement} for this value`),
            );
        }
    });

    it("reports every bad delivery key and every mode/key mismatch in one error, never showing the kubeconfig", () => {
        const kubeconfigSecret = "token: SECRET-KUBE-TOKEN";
        const error = problemsOf({
            ...valid,
            credentialDelivery: "imagePullSecret",
            pullSecretNamespaces: JSON.stringify(["apps", "Apps", "apps", "a".repeat(64)]),
            pullSecretServiceAccounts: JSON.stringify(["default", "ci_bot"]),
            pullSecretName: "-pull",
            kubeconfig: kubeconfigSecret,
            clusterRoleAssignments: JSON.stringify([{ scope: `/subscriptions/${SUB_A}`, role: "Reader" }]),
            clusterDeletePolicy: "leave",
        });
        assert.deepEqual(
            error.problems.map((p) => p.key),
            [
                "clusterRoleAssignments",
                "clusterDeletePolicy",
                "pullSecretNamespaces[1]",
                "pullSecretNamespaces[2]",
                "pullSecretNamespaces[3]",
                "pullSecretServiceAccounts[1]",
                "pullSecretName",
                "kubeconfig",
            ],
        );
        assert.match(
            error.message,
            /clusterDeletePolicy: got "leave"; expected no clusterDeletePolicy unless credentialDelivery is clusterServicePrincipal \(it is "imagePullSecret"\)/,
        );
        assert.match(error.message, /pullSecretNamespaces\[1\]: got "Apps"; expected a DNS-1123 label/);
        assert.match(error.message, /pullSecretNamespaces\[2\]: got "apps"; expected each name once; it repeats pullSecretNamespaces\[0\]/);
        assert.match(error.message, /pullSecretServiceAccounts\[1\]: got "ci_bot"; expected a DNS-1123 subdomain name/);
        assert.match(
            error.message,
            /kubeconfig: got a secret \(value hidden\) that is not a kubeconfig; expected the contents of a kubeconfig/,
        );
        assert.ok(!error.message.includes("SECRET-KUBE-TOKEN"), "the kubeconfig leaked into the error");

        const missing = problemsOf({ ...valid, credentialDelivery: "imagePullSecret" });
        assert.match(missing.message, /pullSecretNamespaces: got \[\]; expected at least one name/);
        const wrongMode = problemsOf({
            ...valid,
            credentialDelivery: "none",
            pullSecretNamespaces: JSON.stringify(["apps"]),
            kubeconfig: "clusters: []\nusers: []",
        });
        assert.deepEqual(
            wrongMode.problems.map((p) => [p.key, p.value]),
            [
                ["pullSecretNamespaces", '"[\\"apps\\"]"'],
                ["kubeconfig", "a secret (value hidden)"],
            ],
        );
        assert.match(
            problemsOf({ ...valid, credentialDelivery: "pullSecret" }).message,
            /credentialDelivery: got "pullSecret"; expected one of clusterServicePrincipal/,
        );
    });

    describe("Pulumi.yaml", () => {
        const project = parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as {
            name: string;
            main: string;
            config: Record<string, { type: string; default?: unknown; description?: string; items?: { type: string } }>;
        };

        it("declares exactly the keys the program reads, with their types and defaults", () => {
            assert.equal(project.name, "aks-acr-cross-tenant");
            assert.equal(project.main, "index.ts");
            assert.deepEqual(Object.keys(project.config).sort(), Object.keys(CONFIG_KEYS).sort());
            for (const [key, spec] of Object.entries(CONFIG_KEYS)) {
                const declared = project.config[key];
                assert.equal(declared.type, "untyped" in spec && spec.untyped ? undefined : spec.type, key);
                assert.ok(declared.description && declared.description.length > 10, `${key} has no description`);
                // Pulumi treats a declared key without a default as required.
                assert.equal("default" in declared, !spec.required, `${key}: required keys have no default, optional keys need one`);
                if (!spec.required) {
                    assert.deepEqual(declared.default, "default" in spec ? spec.default : undefined, key);
                }
            }
        });

        it("ships a dev stack that passes validation with clearly fake ids", () => {
            const stack = parse(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8")) as { config: Record<string, unknown> };
            const raw: Record<string, string> = {};
            for (const [fullKey, value] of Object.entries(stack.config)) {
                raw[fullKey.replace(/^aks-acr-cross-tenant:/, "")] = typeof value === "string" ? value : JSON.stringify(value);
            }
            const settings = parseStackConfig(raw, "dev", plainSecret);
            assert.match(settings.cluster.tenantId, /^(1)\1{7}-/);
            assert.equal(settings.registry.registries.length, 2);
        });
    });
});
