/** `switchboard/rtp`: RTP/RTCP packets, jitter buffer, telephone-events and RTP sessions. */
export {};
