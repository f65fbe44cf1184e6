/**
 * SCRAM-SHA-256 password verifiers, computed client-side so a plaintext password never travels in SQL text
 * (where a failing statement would put it in the server log), and so `read` can tell whether a role's stored
 * password still matches the desired one without knowing anything but the stored verifier.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from "crypto";

const ITERATIONS = 4096;

function verifier(password: string, salt: Buffer, iterations: number): string {
    const salted = pbkdf2Sync(password.normalize("NFKC"), salt, iterations, 32, "sha256");
    const clientKey = createHmac("sha256", salted).update("Client Key").digest();
    const storedKey = createHash("sha256").update(clientKey).digest();
    const serverKey = createHmac("sha256", salted).update("Server Key").digest();
    return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

/** A fresh verifier for `password` with a random salt, in the format Postgres stores in pg_authid. */
export function scramVerifier(password: string): string {
    return verifier(password, randomBytes(16), ITERATIONS);
}

/**
 * Whether `stored` (pg_authid.rolpassword) verifies `password`. Returns undefined when the stored value is not a
 * SCRAM verifier (md5, or none), which the caller treats as "unknown, set it again".
 */
export function verifierMatches(stored: string | null, password: string): boolean | undefined {
    const m = stored ? /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(stored) : null;
    if (!m) return undefined;
    return verifier(password, Buffer.from(m[2], "base64"), Number(m[1])) === stored;
}
