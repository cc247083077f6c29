/** Every CLI command, in the order `clipface --help` lists them. */
import type { Command } from '../command.ts';
import { benchCommand } from './bench.ts';
import { dataCommand } from './data.ts';
import { embedCommand } from './embed.ts';
import { gridCommand } from './grid.ts';
import { metricsCommand } from './metrics.ts';
import { modelsCommand } from './models.ts';
import { pretrainCommand } from './pretrain.ts';
import { runCommand } from './run.ts';

export const commands: Command[] = [benchCommand, dataCommand, embedCommand, gridCommand, metricsCommand, modelsCommand, pretrainCommand, runCommand];
