'use strict';
// An ESME built on the npm smpp package. It binds as transceiver to the
// SMPP server at 127.0.0.1:PORT, submits a GSM text, a UCS2 text and a
// three-segment GSM text, responds to the deliver_sm and delivery receipt the
// server sends, then unbinds.
//
// Usage: node client.js PORT SYSTEM_ID PASSWORD MESSAGES_JSON

const smpp = require('smpp');
const common = require('./common');

const [port, systemId, password, messagesPath] = process.argv.slice(2);
const messages = common.loadMessages(messagesPath);
const expectedDelivers = 2;

const session = smpp.connect({ host: '127.0.0.1', port: Number(port) });
session.on('error', common.fail);
session.on('close', function () {
	common.emit('closed', {});
	process.exit(0);
});

function submit(fields) {
	return new Promise(function (resolve) {
		session.submit_sm(Object.assign({
			source_addr_ton: 1,
			source_addr_npi: 1,
			source_addr: messages.source,
			dest_addr_ton: 1,
			dest_addr_npi: 1,
			destination_addr: messages.destination,
			registered_delivery: 1,
		}, fields), function (resp) {
			common.emit('submit_sm_resp', {
				seq: resp.sequence_number,
				status: resp.command_status,
				message_id: resp.message_id,
			});
			resolve();
		});
	});
}

async function submitAll() {
	await submit({ data_coding: 0x00, short_message: messages.gsm });
	await submit({ data_coding: 0x08, short_message: messages.ucs2 });
	for (const segment of common.concatSegments(messages.long, 0x2a)) {
		await submit({ data_coding: 0x00, short_message: segment });
	}
	common.emit('submitted', {});
}

let delivers = 0;
session.on('deliver_sm', function (pdu) {
	common.emit('deliver_sm', common.describe(pdu));
	session.send(pdu.response());
	delivers++;
	if (delivers === expectedDelivers) {
		session.unbind(function (resp) {
			common.emit('unbind_resp', { status: resp.command_status });
			session.close();
		});
	}
});

session.on('connect', function () {
	session.bind_transceiver({ system_id: systemId, password: password, interface_version: 0x34 }, function (resp) {
		common.emit('bind_transceiver_resp', { status: resp.command_status, system_id: resp.system_id });
		if (resp.command_status !== 0) {
			session.close();
			return;
		}
		submitAll().catch(common.fail);
	});
});
