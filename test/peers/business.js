'use strict';
// A business ESME built on the npm smpp package, driven by the Go test one
// command at a time. It binds as transceiver to the SMPP server at
// 127.0.0.1:PORT, then reads JSON commands from stdin, one a line:
//
//   {"cmd":"submit","ref":"R","source":"18005550100","destination":"12015550101",
//    "text":"...","registered_delivery":1,"service_type":""}
//   {"cmd":"unbind"}
//
// Each submit gets a submit_sm_resp event carrying the command's ref. Every
// deliver_sm the server sends is acknowledged with ESME_ROK and reported
// with optgate's vendor-specific TLVs decoded: mo_id (0x1400),
// consent_keyword (0x1401), consent_outcome (0x1402) and mo_flags (0x1403).
//
// The peer exits when stdin ends.
//
// Usage: node business.js PORT SYSTEM_ID PASSWORD

const readline = require('readline');
const smpp = require('smpp');
const common = require('./common');

const [port, systemId, password] = process.argv.slice(2);

// optgate's vendor-specific deliver_sm TLVs. The npm package keeps a TLV it
// does not know as a Buffer under its numeric tag.
const tagMOID = 0x1400;
const tagConsentKeyword = 0x1401;
const tagConsentOutcome = 0x1402;
const tagMOFlags = 0x1403;

const session = smpp.connect({ host: '127.0.0.1', port: Number(port) });
session.on('error', common.fail);
session.on('close', function () {
	common.emit('closed', {});
	process.exit(0);
});

// cString decodes a C-octet string TLV value without its NUL terminator.
function cString(value) {
	if (!Buffer.isBuffer(value)) {
		return undefined;
	}
	return value.toString('latin1').replace(/\0+$/, '');
}

session.on('deliver_sm', function (pdu) {
	const flags = pdu[tagMOFlags];
	common.emit('deliver_sm', Object.assign(common.describe(pdu), {
		mo_id: cString(pdu[tagMOID]),
		consent_keyword: cString(pdu[tagConsentKeyword]),
		consent_outcome: cString(pdu[tagConsentOutcome]),
		mo_flags: Buffer.isBuffer(flags) && flags.length === 1 ? flags[0] : undefined,
	}));
	session.send(pdu.response());
});

session.on('enquire_link', function (pdu) {
	session.send(pdu.response());
});

session.on('unbind', function (pdu) {
	common.emit('unbind', {});
	session.send(pdu.response());
	session.close();
});

function submit(command) {
	const fields = {
		service_type: command.service_type || '',
		source_addr_ton: 1,
		source_addr_npi: 1,
		source_addr: command.source || '',
		dest_addr_ton: 1,
		dest_addr_npi: 1,
		destination_addr: command.destination,
		registered_delivery: command.registered_delivery || 0,
		short_message: command.text || '',
	};
	session.submit_sm(fields, function (resp) {
		common.emit('submit_sm_resp', {
			ref: command.ref,
			seq: resp.sequence_number,
			status: resp.command_status,
			message_id: resp.message_id,
		});
	});
}

function handle(line) {
	let command;
	try {
		command = JSON.parse(line);
	} catch (err) {
		common.fail('invalid command line ' + JSON.stringify(line) + ': ' + err.message);
		return;
	}
	switch (command.cmd) {
	case 'submit':
		submit(command);
		break;
	case 'unbind':
		session.unbind(function (resp) {
			common.emit('unbind_resp', { status: resp.command_status });
			session.close();
		});
		break;
	default:
		common.fail('unknown command ' + JSON.stringify(command.cmd));
	}
}

session.on('connect', function () {
	session.bind_transceiver({ system_id: systemId, password: password, interface_version: 0x34 }, function (resp) {
		common.emit('bind_transceiver_resp', { status: resp.command_status, system_id: resp.system_id });
		if (resp.command_status !== 0) {
			session.close();
			return;
		}
		// The test keeps stdin open while it runs, so its end means the
		// test is gone and the peer must not outlive it.
		readline.createInterface({ input: process.stdin })
			.on('line', handle)
			.on('close', function () { process.exit(0); });
	});
});
