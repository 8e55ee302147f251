#!/usr/bin/env node
/** The `ledgermq` command: every process and operator tool of LedgerMQ behind one binary. */
import { Command } from 'commander';

const program = new Command();
program.name('ledgermq').description('LedgerMQ: a Raft-replicated message broker in the RocketMQ family');
await program.parseAsync(process.argv);
