// ESLint's recommended rules and typescript-eslint's over the TypeScript sources; `npm run lint` runs it with tsc and
// prettier, and the README's test command runs `npm run lint`.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
    { ignores: ["node_modules/", "bin/", ".pulumi-state/", ".scratch/", "**/*.js", "**/*.mjs"] },
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        rules: {
            "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", ignoreRestSiblings: true }],
            // A closure the provider ships may read a variable before the line that assigns it; as a const,
            // Pulumi's closure serializer could not capture it (sdk/loadbalancer/readiness.ts).
            "prefer-const": ["error", { ignoreReadBeforeAssign: true }],
        },
    },
    {
        // The provider requires pg and crypto inside its calls on purpose: closure serialization captures a module
        // required there by reference. Tests, benchmarks and scripts load programs and fixtures by path.
        // So do the sdk's dynamic providers (the readiness and health gates, Consul's ACL setup).
        files: [
            "provider/**/*.ts",
            "sdk/app/healthGate.ts",
            "sdk/discovery/acl.ts",
            "sdk/loadbalancer/readiness.ts",
            "tests/**/*.ts",
            "bench/**/*.ts",
            "scripts/**/*.ts",
        ],
        rules: { "@typescript-eslint/no-require-imports": "off" },
    },
    {
        // The root Pulumi program re-exports the default example's program as it is (`export =`).
        files: ["index.ts"],
        rules: { "@typescript-eslint/no-require-imports": "off" },
    },
    {
        // Tests read loosely typed engine and provider payloads.
        files: ["tests/**/*.ts", "bench/**/*.ts"],
        rules: { "@typescript-eslint/no-explicit-any": "off" },
    },
);
