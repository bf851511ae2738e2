use lwt::lwt_let;

fn main() {
    let _ = lwt_let! {
        let! () = lwt::pause();
        do! lwt::pause()
    };
}
