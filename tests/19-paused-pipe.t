#!/bin/bash
# A regression test: while a client does not read and its queue is over
# the bound, the worker stops reading task output.  A task whose stdout
# hung up meanwhile (its writers gone) had its pipe closed by
# libwebsockets on the hang-up, before the rest of the output in it was
# read: that output was lost.
. "$(dirname "$0")/lib.sh"

start_wstaskd --ping-interval 30 --ping-timeout 60
client p "?session=paused"
expect p '"type":"ready"'
# Eight results of 1 MB at 0.5 s choke the worker (the client is stopped,
# so its socket buffers stay small); at 2.5 s the last task writes 20 kB
# into its paused pipe, closes its stdout and lives on for 0.5 s.
big='{"task":"late","args":[0.5,1000000]}'
send p "{\"type\":\"run\",\"batch\":\"P\",\"limit\":9,\"tasks\":[$big,$big,$big,$big,$big,$big,$big,$big,{\"id\":\"late\",\"task\":\"late\",\"args\":[2.5,20000]}]}"
expect p '"type":"started","batch":"P","id":"late"'
kill -STOP "$(client_pid p)"
sleep 4
kill -CONT "$(client_pid p)"
check "the batch completes" expect p '"type":"done","batch":"P","ok":9,"failed":0' 30
value=$(grep '"type":"result","batch":"P","id":"late"' "$WT_DIR/p.out" |
    sed 's/.*"value":"\(y*\)".*/\1/')
check "the output written while the pipe was paused arrives whole (${#value} of 20000 bytes)" \
    test "${#value}" = 20000
whole=$(grep '"type":"result","batch":"P","id":"[0-7]","ok":true' "$WT_DIR/p.out" |
    sed 's/.*"value":"\(y*\)".*/\1/' | awk 'length($0) == 1000000' | wc -l)
check "the big results came through whole ($whole of 8)" test "$whole" = 8
check "the worker was choked meanwhile (else this tests nothing)" \
    grep -q 'event=choke session=paused' "$WT_DIR/daemon.log"
