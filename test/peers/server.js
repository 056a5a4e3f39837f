'use strict';
// An SMSC built on the npm smpp package. It listens on 127.0.0.1:PORT,
// accepts one bind_transceiver, responds to each submit_sm with message id
// "npm-N", and after the fifth sends a deliver_sm with the MO text and a
// delivery receipt for the first message. It exits after the ESME unbinds.
//
// Usage: node server.js PORT MESSAGES_JSON

const smpp = require('smpp');
const common = require('./common');

const [port, messagesPath] = process.argv.slice(2);
const messages = common.loadMessages(messagesPath);
const submitsBeforeDeliver = 5;

const server = smpp.createServer(function (session) {
	session.on('error', common.fail);

	session.on('bind_transceiver', function (pdu) {
		common.emit('bind_transceiver', {
			system_id: pdu.system_id,
			password: pdu.password,
			interface_version: pdu.interface_version,
		});
		session.send(pdu.response({ system_id: 'npmsmsc' }));
	});

	let submits = 0;
	session.on('submit_sm', function (pdu) {
		submits++;
		common.emit('submit_sm', common.describe(pdu));
		session.send(pdu.response({ message_id: 'npm-' + submits }));
		if (submits === submitsBeforeDeliver) {
			deliver(session);
		}
	});

	session.on('deliver_sm_resp', function (pdu) {
		common.emit('deliver_sm_resp', { seq: pdu.sequence_number, status: pdu.command_status });
	});

	session.on('enquire_link', function (pdu) {
		session.send(pdu.response());
	});

	session.on('unbind', function (pdu) {
		common.emit('unbind', {});
		session.send(pdu.response());
		session.close();
		server.close();
	});
});

function deliver(session) {
	session.deliver_sm({
		source_addr_ton: 1,
		source_addr_npi: 1,
		source_addr: messages.destination,
		dest_addr_ton: 1,
		dest_addr_npi: 1,
		destination_addr: messages.source,
		data_coding: 0x08,
		short_message: messages.mo,
	});
	session.deliver_sm({
		source_addr: messages.destination,
		destination_addr: messages.source,
		esm_class: 0x04,
		data_coding: 0x00,
		short_message: 'id:npm-1 sub:001 dlvrd:001 submit date:2612041200 done date:2612041201' +
			' stat:DELIVRD err:000 text:Hello from optga',
		receipted_message_id: 'npm-1',
		message_state: 2,
	});
}

server.on('error', common.fail);
server.listen(Number(port), '127.0.0.1', function () {
	common.emit('listening', { port: Number(port) });
});
