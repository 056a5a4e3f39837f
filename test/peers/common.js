'use strict';
// Helpers shared by the interop peers. Each peer talks to the Go test on
// stdout, one JSON object a line, and reads the messages both sides
// exchange from the JSON file whose path the test passes.

const fs = require('fs');

function emit(event, fields) {
	process.stdout.write(JSON.stringify(Object.assign({ event: event }, fields)) + '\n');
}

function loadMessages(path) {
	return JSON.parse(fs.readFileSync(path, 'utf8'));
}

// Splits GSM text of single-septet characters into segments of 153, each
// with an 8-bit reference concatenation header (3GPP TS 23.040 section
// 9.2.3.24.1).
function concatSegments(text, ref) {
	const parts = [];
	for (let i = 0; i < text.length; i += 153) {
		parts.push(text.slice(i, i + 153));
	}
	return parts.map(function (part, i) {
		return { udh: Buffer.from([0x05, 0x00, 0x03, ref, parts.length, i + 1]), message: part };
	});
}

// Returns what a peer reports about a received submit_sm or deliver_sm.
function describe(pdu) {
	const sm = pdu.short_message || {};
	return {
		seq: pdu.sequence_number,
		source_addr: pdu.source_addr,
		destination_addr: pdu.destination_addr,
		esm_class: pdu.esm_class,
		data_coding: pdu.data_coding,
		text: typeof sm === 'string' ? sm : sm.message,
		udh: (sm.udh || []).map(function (b) { return b.toString('hex'); }),
		receipted_message_id: pdu.receipted_message_id,
		message_state: pdu.message_state,
	};
}

// Fails the peer with a message on stdout and a non-zero exit.
function fail(message) {
	emit('error', { message: String(message) });
	process.exit(1);
}

module.exports = {
	emit: emit,
	loadMessages: loadMessages,
	concatSegments: concatSegments,
	describe: describe,
	fail: fail,
};
