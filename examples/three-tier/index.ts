/**
 * The Pulumi program of examples/three-tier: reads the stack's configuration (Pulumi.yaml declares it, Pulumi.<stack>.yaml
 * sets it) and builds the cluster of ./cluster.ts, whose function tests and other programs call directly.
 */
import { threeTier, Outputs, readConfig } from "./cluster";

export = (): Outputs => threeTier(readConfig()).outputs;
