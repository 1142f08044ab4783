/**
 * A child process that drives the Azure twin with the real SDKs, exactly as the product's code reaches Azure: the
 * public endpoints (no `endpoint`, no `authorityHost`), `@azure/identity` credentials and `@azure/arm-containerservice`,
 * with only `HTTPS_PROXY`, `NO_PROXY` and `NODE_EXTRA_CA_CERTS` in its environment (the last is read at process start,
 * which is why this is a process of its own). Used by `tests/twinHttps.test.ts`.
 *
 * It reads a JSON array of steps on stdin, runs them in order, and prints one JSON array of results on stdout. It never
 * prints a secret or a token: token steps print the token's claims.
 */
import { ClientAssertionCredential, ClientSecretCredential, type TokenCredential } from "@azure/identity";
import { ContainerServiceClient } from "@azure/arm-containerservice";
import { createDefaultHttpClient, createPipelineFromOptions, createPipelineRequest } from "@azure/core-rest-pipeline";

/** Who signs in: a client secret or a federated assertion. */
export type SignIn =
    | { readonly tenantId: string; readonly clientId: string; readonly secret: string }
    | { readonly tenantId: string; readonly clientId: string; readonly assertion: string };

/** What the child can be asked to do. */
export type SdkStep =
    | { readonly kind: "token"; readonly as: SignIn; readonly scope: string }
    | {
          readonly kind: "getCluster";
          readonly as: SignIn;
          readonly subscriptionId: string;
          readonly resourceGroupName: string;
          readonly clusterName: string;
      }
    | {
          readonly kind: "resetCluster";
          readonly as: SignIn;
          readonly subscriptionId: string;
          readonly resourceGroupName: string;
          readonly clusterName: string;
          readonly clientId: string;
          readonly secret: string;
      }
    | {
          readonly kind: "userCredential";
          readonly as: SignIn;
          readonly subscriptionId: string;
          readonly resourceGroupName: string;
          readonly clusterName: string;
      }
    | { readonly kind: "fetch"; readonly url: string };

/** A step's outcome: a value, or the error's name, message, code and HTTP status. */
export type SdkResult =
    | { readonly ok: true; readonly value: unknown }
    | {
          readonly ok: false;
          readonly error: { readonly name: string; readonly message: string; readonly code?: string; readonly statusCode?: number };
      };

function credentialOf(signIn: SignIn): TokenCredential {
    if ("secret" in signIn) return new ClientSecretCredential(signIn.tenantId, signIn.clientId, signIn.secret);
    return new ClientAssertionCredential(signIn.tenantId, signIn.clientId, () => Promise.resolve(signIn.assertion));
}

function claimsOf(token: string): unknown {
    return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
}

async function run(step: SdkStep): Promise<unknown> {
    switch (step.kind) {
        case "token": {
            const token = await credentialOf(step.as).getToken(step.scope);
            if (token === null) throw new Error("the credential returned no token");
            return claimsOf(token.token);
        }
        case "getCluster": {
            const client = new ContainerServiceClient(credentialOf(step.as), step.subscriptionId);
            return await client.managedClusters.get(step.resourceGroupName, step.clusterName);
        }
        case "resetCluster": {
            const client = new ContainerServiceClient(credentialOf(step.as), step.subscriptionId);
            await client.managedClusters.beginResetServicePrincipalProfileAndWait(
                step.resourceGroupName,
                step.clusterName,
                { clientId: step.clientId, secret: step.secret },
                { updateIntervalInMs: 20 },
            );
            return "done";
        }
        case "userCredential": {
            const client = new ContainerServiceClient(credentialOf(step.as), step.subscriptionId);
            const result = await client.managedClusters.listClusterUserCredentials(step.resourceGroupName, step.clusterName);
            return (result.kubeconfigs ?? []).map((kubeconfig) => Buffer.from(kubeconfig.value ?? new Uint8Array()).toString("utf8"));
        }
        case "fetch": {
            // The pipeline every Azure client builds, proxy policy included.
            const pipeline = createPipelineFromOptions({ retryOptions: { maxRetries: 0 } });
            const response = await pipeline.sendRequest(createDefaultHttpClient(), createPipelineRequest({ url: step.url }));
            return { status: response.status, body: (response.bodyAsText ?? "").slice(0, 8000) };
        }
    }
}

async function main(): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) chunks.push(chunk);
    const steps = JSON.parse(Buffer.concat(chunks).toString("utf8")) as SdkStep[];
    const results: SdkResult[] = [];
    for (const step of steps) {
        try {
            results.push({ ok: true, value: await run(step) });
        } catch (error) {
            const e = error as { name?: string; message?: string; code?: string; statusCode?: number };
            results.push({
                ok: false,
                error: {
                    name: e.name ?? "Error",
                    message: e.message ?? String(error),
                    ...(typeof e.code === "string" ? { code: e.code } : {}),
                    ...(typeof e.statusCode === "number" ? { statusCode: e.statusCode } : {}),
                },
            });
        }
    }
    process.stdout.write(JSON.stringify(results));
}

main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
});
