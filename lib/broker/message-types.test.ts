import { expect } from 'chai';
import { MessageType, checkTopicAccepts, checkTypeProperties, effectiveType, parseTopicMessageType, topicTypeLabel } from './message-types.js';

const message = (fields: Partial<{ messageType: number; messageGroup: string; deliveryTimestampMs: number; properties: Record<string, string> }>) => ({
  messageType: 0, messageGroup: '', deliveryTimestampMs: 0, properties: {}, ...fields,
});
const codeOf = (run: () => void): string => {
  try {
    run();
    return 'OK';
  } catch (error) {
    return (error as { code: string }).code;
  }
};

describe('message types', () => {
  it('derives a missing type from the fields', () => {
    expect(effectiveType(message({}))).to.equal(MessageType.NORMAL);
    expect(effectiveType(message({ messageGroup: 'g' }))).to.equal(MessageType.FIFO);
    expect(effectiveType(message({ deliveryTimestampMs: 5 }))).to.equal(MessageType.DELAY);
    expect(effectiveType(message({ properties: { DELAY: '3' } }))).to.equal(MessageType.DELAY);
    expect(effectiveType(message({ messageType: MessageType.TRANSACTION }))).to.equal(MessageType.TRANSACTION);
  });

  it('refuses fields that conflict with the type (MESSAGE_PROPERTY_CONFLICT_WITH_TYPE)', () => {
    const conflict = 'MESSAGE_PROPERTY_CONFLICT_WITH_TYPE';
    expect(codeOf(() => checkTypeProperties(message({ messageGroup: 'g' }), MessageType.NORMAL))).to.equal(conflict);
    expect(codeOf(() => checkTypeProperties(message({}), MessageType.FIFO))).to.equal(conflict);
    expect(codeOf(() => checkTypeProperties(message({ messageGroup: 'g', deliveryTimestampMs: 1 }), MessageType.FIFO))).to.equal(conflict);
    expect(codeOf(() => checkTypeProperties(message({}), MessageType.DELAY))).to.equal(conflict);
    expect(codeOf(() => checkTypeProperties(message({ deliveryTimestampMs: 1 }), MessageType.TRANSACTION))).to.equal(conflict);
    expect(codeOf(() => checkTypeProperties(message({ messageGroup: 'g' }), MessageType.FIFO))).to.equal('OK');
    expect(codeOf(() => checkTypeProperties(message({}), 9))).to.equal('BAD_REQUEST');
  });

  it('checks the topic accepts the type; parses and labels topic types', () => {
    expect(codeOf(() => checkTopicAccepts({ name: 'T', messageTypes: [MessageType.NORMAL] }, MessageType.FIFO))).to.equal('MESSAGE_PROPERTY_CONFLICT_WITH_TYPE');
    expect(codeOf(() => checkTopicAccepts({ name: 'T', messageTypes: [] }, MessageType.NORMAL))).to.equal('OK');
    expect(parseTopicMessageType('mixed')).to.deep.equal([1, 2, 3, 4]);
    expect(parseTopicMessageType('FIFO')).to.deep.equal([2]);
    expect(codeOf(() => parseTopicMessageType('LITE'))).to.equal('BAD_REQUEST');
    expect(topicTypeLabel([1, 2, 3, 4])).to.equal('MIXED');
    expect(topicTypeLabel([3])).to.equal('DELAY');
  });
});
