/**
 * The pictures at an epoch's end: the probe pass handed to the visualizer on picture epochs, and the
 * report page after every epoch. A picture that fails is said in the log and training goes on (the
 * epoch's checkpoint is written before them).
 */
import { errorMessage } from '../util/errors.js';
import { saveEpoch } from './checkpoint.js';
import type { EpochRecord } from './metrics.js';
import type { PatchPassResult } from './patch-pass.js';
import { probeSplit } from './probe.js';
import { now } from './run.js';
import type { Session } from './session.js';
import type { StepPictures } from './step-pictures.js';

/** The epoch's pictures, then its checkpoint again with their timings and the visualizer's state. */
export async function drawEpoch(s: Session, record: EpochRecord, confusion: number[][], patches: PatchPassResult, epochStart: number): Promise<void> {
  const { data, preprocessing, visualizer, reporter } = s.run;
  if (!visualizer) return;
  const vizStart = now();
  try {
    const probe = probeSplit(s.net, data.test, s.probeIndices, preprocessing);
    await visualizer.epochEnd({ epoch: s.epoch + 1, probe, records: s.records, confusion, classNames: data.classNames, patches });
  } catch (e) {
    reporter.log(`pictures of epoch ${s.epoch + 1} failed: ${errorMessage(e).split('\n')[0]}; training goes on`);
  }
  record.vizSeconds += now() - vizStart;
  record.seconds = now() - epochStart;
  await saveEpoch(s);
}

/** The report page, after every epoch (pictures or not). */
export async function writeReport(s: Session, confusion: number[][], steps: StepPictures): Promise<void> {
  const { data, visualizer, reporter } = s.run;
  if (!visualizer) return;
  const skippedSteps = steps.skipped;
  try {
    await visualizer.report({ records: s.records, confusion, classNames: data.classNames, ...(skippedSteps ? { skippedSteps } : {}) });
  } catch (e) {
    reporter.log(`the report page of epoch ${s.epoch + 1} failed: ${errorMessage(e).split('\n')[0]}; training goes on`);
  }
}
