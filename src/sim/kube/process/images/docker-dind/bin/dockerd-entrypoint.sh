#!/bin/sh
# docker:dind's entrypoint: no arguments, or arguments starting with '-', mean "run dockerd with them".
if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- dockerd "$@"
fi
exec "$@"
