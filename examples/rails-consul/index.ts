/**
 * The Pulumi program of examples/rails-consul: reads the stack's configuration (Pulumi.yaml declares it, Pulumi.<stack>.yaml
 * sets it) and builds the cluster of ./cluster.ts, whose function tests and other programs call directly.
 */
import { railsConsul, Outputs, readConfig } from "./cluster";

export = (): Outputs => railsConsul(readConfig()).outputs;
