import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { errorFields, type Logger } from '../../shared/log.ts';
import { isFinished } from '../../shared/pull-record.ts';
import { PullMessageSchema } from '../../shared/queue-message.ts';
import { parseBody } from '../../shared/queue/sqs-job-queue.ts';
import type { RecordStore } from '../../shared/record-store.ts';

/** What the dead-letter consumer needs. */
export interface DeadLetterDeps {
  records: RecordStore;
  log: Logger;
}

/** What a dead-lettered pull records as its reason. */
export const DEAD_LETTER_MESSAGE = 'no delivery of this pull reached an outcome (the worker crashed, timed out or could not write the record); the message was moved to the dead-letter queue';

/**
 * Consumes the dead-letter queue: SQS moves a message there after maxReceiveCount deliveries that
 * ended without an outcome — the cases the worker's own final-attempt check cannot catch (a crash,
 * a hard timeout, the record store down). Its pull is marked failed with DEAD_LETTERED, so no
 * client waits forever on a `running` pull. The message body is logged whole (it holds no secret)
 * before it is acknowledged, so the log keeps what the queue lets go.
 */
export function createDeadLetterHandler(deps: DeadLetterDeps): (event: SQSEvent) => Promise<SQSBatchResponse> {
  return async (event) => {
    const failures: SQSBatchItemFailure[] = [];
    for (const record of event.Records) {
      const parsed = PullMessageSchema.safeParse(parseBody(record.body));
      if (!parsed.success) {
        deps.log.error('dead-lettered message is not a pull message; dropped', { messageId: record.messageId, body: record.body.slice(0, 2000) });
        continue;
      }
      const message = parsed.data;
      const log = deps.log.child({ messageId: record.messageId, pullId: message.pullId, image: message.image, platform: message.platform });
      try {
        const pull = await deps.records.get(message.pullId);
        if (pull && !isFinished(pull.state)) {
          await deps.records.update(pull.id, { state: 'failed', error: { code: 'DEAD_LETTERED', message: DEAD_LETTER_MESSAGE } });
          log.error('pull dead-lettered; marked failed', { previousState: pull.state });
        } else {
          log.warn('dead-lettered message for a pull that is already finished or unknown', { state: pull?.state });
        }
      } catch (err) {
        log.error('could not mark a dead-lettered pull failed; will retry', errorFields(err));
        failures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures: failures };
  };
}
